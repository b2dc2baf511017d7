// Component tests: each test's rendered tree is removed after it.
import { cleanup } from '@solidjs/testing-library';
import { afterEach } from 'vitest';

afterEach(cleanup);
