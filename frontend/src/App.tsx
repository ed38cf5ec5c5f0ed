import { lazy, Suspense } from 'react';
import { QueryClientProvider } from '@tanstack/react-query';
import { createBrowserRouter, RouterProvider } from 'react-router';
import { AuthProvider } from './auth/AuthProvider';
import { RequireAuth, RedirectIfAuthenticated } from './auth/RequireAuth';
import { AppLayout } from './components/Layout/AppLayout';
import { RouteError } from './components/ErrorBoundary/RouteError';
import { Loading } from './components/Loading/Loading';
import { queryClient } from './queries/queryClient';
import { LoginPage } from './pages/Login/LoginPage';
import { SignupPage } from './pages/Signup/SignupPage';
import { WorkflowsPage } from './pages/Workflows/WorkflowsPage';
import { RunsPage } from './pages/Runs/RunsPage';
import { RunnersPage } from './pages/Runners/RunnersPage';
import { QueuePage } from './pages/Queue/QueuePage';
import { TokensPage } from './pages/Tokens/TokensPage';
import { NotFoundPage } from './pages/NotFound/NotFoundPage';

// The graph pages carry @xyflow/react and elkjs; loading them on demand keeps the first paint of the
// login and list pages small.
const WorkflowPage = lazy(() => import('./pages/Workflow/WorkflowPage').then((m) => ({ default: m.WorkflowPage })));
const WorkflowEditPage = lazy(() => import('./pages/WorkflowEdit/WorkflowEditPage').then((m) => ({ default: m.WorkflowEditPage })));
const HistoryPage = lazy(() => import('./pages/History/HistoryPage').then((m) => ({ default: m.HistoryPage })));
const RunPage = lazy(() => import('./pages/Run/RunPage').then((m) => ({ default: m.RunPage })));

const GRAPH_PAGES = { workflow: WorkflowPage, run: RunPage, edit: WorkflowEditPage, history: HistoryPage };

function GraphPage({ page }: { page: keyof typeof GRAPH_PAGES }) {
  const Page = GRAPH_PAGES[page];
  return (
    <Suspense fallback={<Loading label="Loading the graph view" />}>
      <Page />
    </Suspense>
  );
}

export const routes = [
  {
    errorElement: <RouteError />,
    children: [
      {
        element: <RedirectIfAuthenticated />,
        children: [
          { path: '/login', element: <LoginPage /> },
          { path: '/signup', element: <SignupPage /> },
        ],
      },
      {
        element: <RequireAuth />,
        children: [
          {
            element: <AppLayout />,
            errorElement: <RouteError />,
            children: [
              { path: '/', element: <WorkflowsPage /> },
              { path: '/workflows/new', element: <GraphPage page="edit" />, handle: { wide: true } },
              { path: '/workflows/:workflowId', element: <GraphPage page="workflow" />, handle: { wide: true } },
              { path: '/workflows/:workflowId/edit', element: <GraphPage page="edit" />, handle: { wide: true } },
              { path: '/workflows/:workflowId/history', element: <GraphPage page="history" />, handle: { wide: true } },
              { path: '/workflows/:workflowId/runs', element: <RunsPage /> },
              { path: '/workflows/:workflowId/runs/:runId', element: <GraphPage page="run" />, handle: { wide: true } },
              { path: '/runners', element: <RunnersPage /> },
              { path: '/queue', element: <QueuePage /> },
              { path: '/settings/tokens', element: <TokensPage /> },
              { path: '*', element: <NotFoundPage /> },
            ],
          },
        ],
      },
    ],
  },
];

const router = createBrowserRouter(routes);

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <AuthProvider>
        <RouterProvider router={router} />
      </AuthProvider>
    </QueryClientProvider>
  );
}
