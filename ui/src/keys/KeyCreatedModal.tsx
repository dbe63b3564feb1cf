// "API key created": the secret, shown this once, with a copy button and ready snippets; then the
// caller goes on to the key's details (the secret is never shown again, nor kept anywhere).
import {
  Alert,
  Button,
  ClipboardCopy,
  ClipboardCopyButton,
  CodeBlock,
  CodeBlockAction,
  CodeBlockCode,
  Content,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  Tab,
  Tabs,
  TabTitleText,
  Title,
} from '@patternfly/react-core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';

import { api, unwrap } from '../api/client';
import { openaiBaseUrl, useSession } from '../app/session';
import type { KeyCreated } from './create/form';
import { NO_MODEL, type Snippet, snippetModel, snippets } from './snippets';

function SnippetBlock({ snippet }: { snippet: Snippet }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    await navigator.clipboard.writeText(snippet.code);
    setCopied(true);
  };
  const actions = (
    <CodeBlockAction>
      <ClipboardCopyButton
        id={`copy-snippet-${snippet.id}`}
        aria-label={`Copy the ${snippet.title} snippet`}
        onClick={() => void copy()}
        exitDelay={copied ? 1500 : 600}
        onTooltipHidden={() => setCopied(false)}
        variant="plain"
      >
        {copied ? 'Copied' : 'Copy to clipboard'}
      </ClipboardCopyButton>
    </CodeBlockAction>
  );
  return (
    <CodeBlock actions={actions}>
      <CodeBlockCode id={`snippet-${snippet.id}`}>{snippet.code}</CodeBlockCode>
    </CodeBlock>
  );
}

export interface KeyCreatedModalProps {
  created: KeyCreated;
  /** Leaves the modal (its button and its close both go to the key's details). */
  onDone: () => void;
}

export function KeyCreatedModal({ created, onDone }: KeyCreatedModalProps) {
  const { info } = useSession();
  const [tab, setTab] = useState<string | number>('curl');
  const models = useQuery({ queryKey: ['models'], queryFn: () => unwrap(api.GET('/api/v1/models')) });
  const model = snippetModel(created.models, models.data?.items ?? []);
  const examples = snippets(openaiBaseUrl(info), created.key, model);

  return (
    <Modal variant="medium" isOpen onClose={onDone} aria-labelledby="key-created-title">
      <ModalHeader title="API key created" labelId="key-created-title" />
      <ModalBody>
        <Alert variant="warning" isInline title="Copy the key now: it will not be shown again." className="pf-v6-u-mb-md">
          Headwater keeps only a hash of it. If it is lost, rotate the key to get a new secret.
        </Alert>
        <Content component="p">
          The secret of <strong>{created.name}</strong>:
        </Content>
        <div className="pf-v6-u-mb-lg">
          <ClipboardCopy isReadOnly textAriaLabel="API key secret" copyAriaLabel="Copy the API key secret" hoverTip="Copy" clickTip="Copied">
            {created.key}
          </ClipboardCopy>
        </div>
        <Title headingLevel="h2" size="md" className="pf-v6-u-mb-sm">
          Use it
        </Title>
        <Content component="p">
          The gateway speaks the OpenAI API at <code>{openaiBaseUrl(info)}</code>
          {model ? (
            <>
              ; these examples call <code>{model.name}</code>.
            </>
          ) : (
            <>
              ; no model this key may call is registered yet: replace <code>{NO_MODEL}</code> with one.
            </>
          )}
        </Content>
        <Tabs activeKey={tab} onSelect={(_event, key) => setTab(key)} aria-label="Code snippets">
          {examples.map((snippet) => (
            <Tab key={snippet.id} eventKey={snippet.id} title={<TabTitleText>{snippet.title}</TabTitleText>}>
              <div className="pf-v6-u-pt-md">
                <SnippetBlock snippet={snippet} />
              </div>
            </Tab>
          ))}
        </Tabs>
      </ModalBody>
      <ModalFooter>
        <Button variant="primary" onClick={onDone}>
          Go to key details
        </Button>
      </ModalFooter>
    </Modal>
  );
}
