// Page objects for the shell's pages; WEB-GRAPH's WorkflowPage/RunPage live beside these.
export { LoginPage } from './LoginPage';
export { NavBar, type NavTarget } from './NavBar';
export { QueuePage } from './QueuePage';
export { RunnersPage } from './RunnersPage';
export { RunsPage } from './RunsPage';
export { SignupPage } from './SignupPage';
export { TokensPage } from './TokensPage';
export { WorkflowsPage, type UploadOptions } from './WorkflowsPage';
export { EditorPage } from './EditorPage';
export { HistoryPage } from './HistoryPage';
