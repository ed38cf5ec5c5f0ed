export { StateBadge, type StateBadgeProps } from './StateBadge';
export { StateIcon } from './StateIcon';
