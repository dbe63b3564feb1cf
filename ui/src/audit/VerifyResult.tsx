// What GET /api/v1/audit/verify found: the chain intact (with its head, to pin elsewhere) or the
// first broken entry and why.
import { Alert, AlertActionCloseButton, ClipboardCopy, Content } from '@patternfly/react-core';

import type { components } from '../api/schema';
import { formatNumber } from '../components/format';

export type AuditVerifyRead = components['schemas']['AuditVerifyRead'];

function entries(count: number): string {
  return `${formatNumber(count)} ${count === 1 ? 'entry' : 'entries'}`;
}

export function VerifyResult({ result, onClose }: { result: AuditVerifyRead; onClose: () => void }) {
  const close = <AlertActionCloseButton onClose={onClose} />;
  if (result.ok) {
    return (
      <Alert variant="success" isInline title={`The chain is intact: ${entries(result.checked)} verified`} actionClose={close}>
        {result.head_seq > 0 && (
          <>
            <Content component="p">Its head is entry {result.head_seq}, with this hash (pin it elsewhere to detect a rewrite):</Content>
            <ClipboardCopy isReadOnly isCode hoverTip="Copy" clickTip="Copied" aria-label="Head hash">
              {result.head_hash}
            </ClipboardCopy>
          </>
        )}
      </Alert>
    );
  }
  const title =
    result.first_broken_seq === null
      ? 'The chain is broken'
      : `The chain is broken at entry ${result.first_broken_seq}`;
  return (
    <Alert variant="danger" isInline title={title} actionClose={close}>
      <Content component="p">{result.reason ?? 'The stored hashes do not match the events.'}</Content>
      <Content component="p">
        {entries(result.checked)} before it verified. Someone with database access changed or removed events: compare
        with a backup or an exported copy.
      </Content>
    </Alert>
  );
}
