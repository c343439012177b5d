import { afterAll, afterEach } from 'vitest';
import { formatViolations, takeViolations } from './response-validation.ts';

/** Fails the test in which a response broke the OpenAPI document (afterAll: responses after the file's last test). */
function failOnViolations(): void {
  const found = takeViolations();
  if (found.length > 0) throw new Error(formatViolations(found));
}

afterEach(failOnViolations);
afterAll(failOnViolations);
