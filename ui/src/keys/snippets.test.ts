import { describe, expect, it } from 'vitest';

import type { components } from '../api/schema';
import { assetsText, ownerParts, ownerQuery } from './keyFields';
import { NO_MODEL, snippetModel, snippets } from './snippets';

type Model = components['schemas']['ModelRead'];
const model = (name: string, kind: Model['kind'], status: Model['status'] = 'active'): Model => ({
  name,
  kind,
  status,
  access: 'open',
  description: '',
  deployments: [],
  created_at: '',
  updated_at: '',
});
const CATALOG = [model('embedder', 'embedding'), model('off', 'chat', 'disabled'), model('writer', 'completion'), model('talker', 'chat')];

describe('snippets for a new key', () => {
  it('call a model the key may use, a chat model first', () => {
    expect(snippetModel(null, CATALOG)).toEqual({ name: 'talker', kind: 'chat' });
    expect(snippetModel(['embedder', 'writer'], CATALOG)).toEqual({ name: 'writer', kind: 'completion' });
    expect(snippetModel(['embedder'], CATALOG)).toEqual({ name: 'embedder', kind: 'embedding' });
    expect(snippetModel(['not-listed'], [])).toEqual({ name: 'not-listed', kind: 'chat' });
    expect(snippetModel(null, [])).toBeNull();
  });

  it('hold the base URL, the key and the model, on the endpoint of its kind', () => {
    const [curl, python, langchain] = snippets('http://gw/v1', 'hwk_secret', { name: 'embedder', kind: 'embedding' });
    expect(curl?.code).toContain('curl http://gw/v1/embeddings');
    expect(curl?.code).toContain('Bearer hwk_secret');
    expect(python?.code).toContain('client.embeddings.create(model="embedder"');
    expect(langchain?.code).toContain('OpenAIEmbeddings(base_url="http://gw/v1", api_key="hwk_secret", model="embedder")');
    expect(snippets('http://gw/v1', 'k', null)[0]?.code).toContain(NO_MODEL);
  });
});

describe('how a key reads in the list', () => {
  it('names owners, assets and owner filters', () => {
    expect(ownerParts('serviceaccount:ci-bot')).toEqual({ name: 'ci-bot', type: 'Service account' });
    expect(ownerParts(null)).toBeNull();
    expect(assetsText(null)).toBe('All models');
    expect(assetsText(['a', 'b', 'c', 'd'])).toBe('a, b +2 more');
    expect(ownerQuery(' alice ')).toBe('user:alice');
    expect(ownerQuery('group:ml')).toBe('group:ml');
    expect(ownerQuery('')).toBe('');
    expect(ownerQuery('team:ml')).toBeNull();
  });
});
