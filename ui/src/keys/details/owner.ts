// Key owners as the API writes them (user:NAME, group:NAME, serviceaccount:NAME), in words.
const KINDS: Record<string, string> = { user: 'User', group: 'Group', serviceaccount: 'Service account' };

export function ownerText(owner: string | null): string {
  if (owner === null) return 'None (an administrator’s key)';
  const [kind = '', ...rest] = owner.split(':');
  const name = rest.join(':');
  const label = KINDS[kind];
  return label ? `${name} (${label.toLowerCase()})` : owner;
}
