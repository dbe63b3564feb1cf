// Every page of the console, code-split by route: a page's code loads when it is first opened.
import { lazy, type LazyExoticComponent, type ComponentType } from 'react';

import { auditOnly, credentialsOnly, organisationOnly } from './navigation';
import type { Abilities } from './roles';

export interface RouteEntry {
  path: string;
  page: LazyExoticComponent<ComponentType>;
  /** Who may open it; everyone signed in when absent. Others get the not-found page. */
  allow?: (can: Abilities) => boolean;
}

export const ROUTES: RouteEntry[] = [
  { path: '/', page: lazy(() => import('../home/HomePage')) },
  { path: '/settings/api-keys', page: lazy(() => import('../keys/KeysPage')) },
  { path: '/settings/api-keys/:keyId', page: lazy(() => import('../keys/KeyDetailsPage')) },
  { path: '/settings/api-keys/:keyId/:tab', page: lazy(() => import('../keys/KeyDetailsPage')) },
  { path: '/settings/policies', page: lazy(() => import('../policies/PoliciesPage')) },
  { path: '/settings/policies/:policyName', page: lazy(() => import('../policies/PolicyDetailsPage')) },
  { path: '/settings/policies/:policyName/:tab', page: lazy(() => import('../policies/PolicyDetailsPage')) },
  { path: '/ai-assets/models', page: lazy(() => import('../models/ModelsPage')) },
  { path: '/ai-assets/models/:modelName', page: lazy(() => import('../models/ModelDetailsPage')) },
  { path: '/usage', page: lazy(() => import('../usage/MyUsagePage')) },
  { path: '/admin/usage', page: lazy(() => import('../usage/AdminUsagePage')), allow: organisationOnly },
  { path: '/settings/users', page: lazy(() => import('../directory/UsersPage')), allow: organisationOnly },
  { path: '/settings/groups', page: lazy(() => import('../directory/GroupsPage')), allow: organisationOnly },
  {
    path: '/settings/service-accounts',
    page: lazy(() => import('../directory/ServiceAccountsPage')),
    allow: organisationOnly,
  },
  { path: '/settings/credentials', page: lazy(() => import('../credentials/CredentialsPage')), allow: credentialsOnly },
  { path: '/settings/audit', page: lazy(() => import('../audit/AuditPage')), allow: auditOnly },
];
