// The navigation, by section; each entry says who sees it (the route guard uses the same rule).
import type { Abilities } from './roles';

export interface NavEntry {
  path: string;
  label: string;
  exact?: boolean;
  visible?: (can: Abilities) => boolean;
}

export interface NavSection {
  title: string | null;
  entries: NavEntry[];
}

export const organisationOnly = (can: Abilities): boolean => can.seeOrganisation;
export const auditOnly = (can: Abilities): boolean => can.seeAudit;
export const credentialsOnly = (can: Abilities): boolean => can.seeCredentials;

export const NAVIGATION: NavSection[] = [
  { title: null, entries: [{ path: '/', label: 'Home', exact: true }] },
  { title: 'AI assets', entries: [{ path: '/ai-assets/models', label: 'Models' }] },
  {
    title: 'Usage',
    entries: [
      { path: '/usage', label: 'My usage' },
      { path: '/admin/usage', label: 'Organization usage', visible: organisationOnly },
    ],
  },
  {
    title: 'Settings',
    entries: [
      { path: '/settings/api-keys', label: 'API keys' },
      { path: '/settings/policies', label: 'Policies' },
      { path: '/settings/users', label: 'Users', visible: organisationOnly },
      { path: '/settings/groups', label: 'Groups', visible: organisationOnly },
      { path: '/settings/service-accounts', label: 'Service accounts', visible: organisationOnly },
      { path: '/settings/credentials', label: 'Credentials', visible: credentialsOnly },
      { path: '/settings/audit', label: 'Audit log', visible: auditOnly },
    ],
  },
];
