import { useState } from 'react';
import { ncToModel, type GraphModel } from '../../lib/ncGraph';
import type { NcDoc } from '../../lib/ncEdit';

/**
 * The canvas model of the editor's document, rebuilt from the previous one: nodes an edit did not replace
 * keep their model objects (see ncToModel's `previous`), so only edited nodes re-render.
 * (State derived during render, React's pattern for "information from previous renders".)
 */
export function useIncrementalModel(doc: NcDoc): GraphModel {
  const [state, setState] = useState(() => ({ doc, model: ncToModel(doc) }));
  if (state.doc !== doc) {
    const next = { doc, model: ncToModel(doc, state.model) };
    setState(next);
    return next.model;
  }
  return state.model;
}
