// The error panel shows the API's message and request id, so a report can be matched to the log.
import { render, screen } from '@solidjs/testing-library';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../src/graphql/client';
import { ErrorPanel } from '../src/ui/states';

describe('ErrorPanel', () => {
  it("shows an API error's message and request id, and retries on request", () => {
    const retry = vi.fn();
    render(() => <ErrorPanel error={new ApiError('Project not found', 'req-123', 'NOT_FOUND', 200)} retry={retry} />);
    expect(screen.getByRole('alert').textContent).toContain('Project not found');
    expect(screen.getByText('req-123').tagName).toBe('CODE');
    screen.getByRole('button', { name: 'Try again' }).click();
    expect(retry).toHaveBeenCalledTimes(1);
  });

  it('shows a plain error without a request id', () => {
    render(() => <ErrorPanel error={new Error('boom')} />);
    expect(screen.getByRole('alert').textContent).toContain('boom');
    expect(screen.queryByText(/Request id/)).toBeNull();
    expect(screen.queryByRole('button')).toBeNull();
  });
});
