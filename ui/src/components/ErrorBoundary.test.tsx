import { render, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';

import { ErrorBoundary } from './ErrorBoundary';

function Broken({ message }: { message: string }): never {
  throw new Error(message);
}

describe('ErrorBoundary', () => {
  it('shows a page that failed, with a reload, instead of a blank console', () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    render(
      <ErrorBoundary resetKey="/a">
        <Broken message="Failed to fetch dynamically imported module: /assets/KeysPage-old.js" />
      </ErrorBoundary>,
    );
    expect(screen.getByRole('heading', { name: 'This page could not be shown' })).toBeInTheDocument();
    expect(screen.getByText(/Headwater may have been updated/)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Reload' })).toBeInTheDocument();
  });

  it('clears the error when the caller leaves the page', () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const { rerender } = render(
      <ErrorBoundary resetKey="/a">
        <Broken message="boom" />
      </ErrorBoundary>,
    );
    expect(screen.getByText('boom')).toBeInTheDocument();
    rerender(
      <ErrorBoundary resetKey="/b">
        <p>another page</p>
      </ErrorBoundary>,
    );
    expect(screen.getByText('another page')).toBeInTheDocument();
  });
});
