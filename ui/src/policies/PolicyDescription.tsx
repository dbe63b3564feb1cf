// Everything the Create policy modal captures, as description lists: general, assets, limits,
// targets and behaviour.
import {
  DescriptionList,
  DescriptionListDescription,
  DescriptionListGroup,
  DescriptionListTerm,
  Flex,
  Label,
  LabelGroup,
  Stack,
  Title,
} from '@patternfly/react-core';
import type { ReactNode } from 'react';

import { formatDateTime, formatNumber } from '../components/format';
import { StatusLabel } from './PolicyTable';
import {
  type Budget,
  describeAssets,
  describeDays,
  formatAmount,
  type Limit,
  OVER_LIMIT,
  parseWindow,
  type Policy,
  SCOPE_NAMES,
  UNIT_NAMES,
} from './rules';

const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const PERIOD = { daily: 'per day', weekly: 'per week', monthly: 'per month' } as const;

function Item({ term, children }: { term: string; children: ReactNode }) {
  return (
    <DescriptionListGroup>
      <DescriptionListTerm>{term}</DescriptionListTerm>
      <DescriptionListDescription>{children}</DescriptionListDescription>
    </DescriptionListGroup>
  );
}

function Lines({ lines, none }: { lines: string[]; none: string }) {
  if (lines.length === 0) return <>{none}</>;
  return (
    <>
      {lines.map((line) => (
        <div key={line}>{line}</div>
      ))}
    </>
  );
}

function Names({ names, label }: { names: string[] | undefined; label: string }) {
  if (!names?.length) return <>None</>;
  return (
    <LabelGroup aria-label={label} numLabels={10}>
      {names.map((name) => (
        <Label key={name} variant="outline">
          {name}
        </Label>
      ))}
    </LabelGroup>
  );
}

function limitLines(limits: Limit[], kinds: [keyof Limit, string][]): string[] {
  return limits.flatMap((limit) => {
    const { every, unit } = parseWindow(limit.window);
    const per = every === 1 ? UNIT_NAMES[unit][0] : `${String(every)} ${UNIT_NAMES[unit][1]}`;
    const who = SCOPE_NAMES[limit.scope].toLowerCase();
    return kinds.flatMap(([kind, what]) => {
      const count = limit[kind];
      return typeof count === 'number' ? [`${formatNumber(count)} ${what} per ${per}, ${who}`] : [];
    });
  });
}

function budgetText(budget: Budget, nextRenewal: string | null | undefined): string[] {
  const lines = [`${formatAmount(budget.amount, budget.currency)} ${PERIOD[budget.period]}, ${SCOPE_NAMES[budget.scope].toLowerCase()}`];
  if (budget.period === 'weekly') lines.push(`Renews on ${WEEKDAYS[budget.renewsOn - 1] ?? String(budget.renewsOn)} (${budget.timezone})`);
  else if (budget.period === 'monthly') lines.push(`Renews on day ${String(budget.renewsOn)} (${budget.timezone})`);
  else lines.push(`Renews at midnight (${budget.timezone})`);
  if (nextRenewal) lines.push(`Next renewal: ${formatDateTime(nextRenewal)}`);
  return lines;
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Flex component="section" direction={{ default: 'column' }} spaceItems={{ default: 'spaceItemsMd' }}>
      <Title headingLevel="h2" size="lg">
        {title}
      </Title>
      <DescriptionList isHorizontal isCompact horizontalTermWidthModifier={{ default: '14ch' }}>
        {children}
      </DescriptionList>
    </Flex>
  );
}

export function PolicyDescription({ policy }: { policy: Policy }) {
  const limits = policy.limits ?? [];
  const targets = policy.targets ?? {};
  const schedule = policy.schedule;
  return (
    <Stack hasGutter>
      <Section title="General">
        <Item term="Name">{policy.name}</Item>
        <Item term="Display name">{policy.displayName || '—'}</Item>
        <Item term="Description">{policy.description || '—'}</Item>
        <Item term="Status">
          <StatusLabel status={policy.status} />
        </Item>
        <Item term="Created">{formatDateTime(policy.created_at)}</Item>
        <Item term="Updated">{formatDateTime(policy.updated_at)}</Item>
      </Section>
      <Section title="Available assets">
        <Item term="Models">{describeAssets(policy)}</Item>
      </Section>
      <Section title="Limits">
        <Item term="Token limit">
          <Lines
            lines={limitLines(limits, [
              ['tokens', 'tokens'],
              ['inputTokens', 'input tokens'],
              ['outputTokens', 'output tokens'],
            ])}
            none="None"
          />
        </Item>
        <Item term="Rate limit">
          <Lines lines={limitLines(limits, [['requests', 'requests']])} none="None" />
        </Item>
        <Item term="Time limit">
          {schedule ? `${describeDays(schedule.days)} ${schedule.start}–${schedule.end} (${schedule.timezone})` : 'None'}
        </Item>
        <Item term="Budget">
          <Lines lines={policy.budget ? budgetText(policy.budget, policy.nextRenewal) : []} none="None" />
        </Item>
      </Section>
      <Section title="Targets">
        <Item term="Groups">
          <Names names={targets.groups} label="Groups" />
        </Item>
        <Item term="Users">
          <Names names={targets.users} label="Users" />
        </Item>
        <Item term="Service accounts">
          <Names names={targets.serviceAccounts} label="Service accounts" />
        </Item>
      </Section>
      <Section title="Behaviour">
        <Item term="Over-limit behaviour">
          {OVER_LIMIT[policy.overLimit].title}: {OVER_LIMIT[policy.overLimit].description}
        </Item>
        <Item term="Priority">{policy.priority}</Item>
        <Item term="Cost center">{policy.costCenter || '—'}</Item>
      </Section>
    </Stack>
  );
}
