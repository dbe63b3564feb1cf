// For component tests: axe-core over what a page rendered, failing on serious or critical
// violations (colour contrast is left to the browser tests: jsdom does not lay out or paint).
import axe from 'axe-core';

export async function seriousViolations(root: Element = document.body): Promise<string[]> {
  const results = await axe.run(root, { rules: { 'color-contrast': { enabled: false } } });
  return results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
}
