import { badInput } from '../errors';
import { textProblem } from './text';

const resourceName = /^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$/;

/** Whether the text is a resource name as it is (no trimming): what a name written in HCL must be. */
export function isResourceName(value: string): boolean {
  return resourceName.test(value);
}

/** Resource names are URL-safe: lowercase letters, digits and inner hyphens, 1-64 characters. */
export function validateName(field: string, value: string): string {
  const name = value.trim();
  if (!resourceName.test(name)) {
    throw badInput(field, 'must be 1-64 lowercase letters, digits or inner hyphens');
  }
  return name;
}

export function validateDescription(value: string | undefined): string {
  const description = (value ?? '').trim();
  if (description.length > 1000) throw badInput('description', 'must be at most 1000 characters');
  return description;
}

/** A free-text label (an API key's name): trimmed, 1 to `max` characters, on one line. */
export function validateLabel(field: string, value: string, max: number): string {
  const label = value.trim();
  if (!label || label.length > max) throw badInput(field, `must be 1 to ${max} characters`);
  const problem = textProblem(label);
  if (problem) throw badInput(field, problem);
  return label;
}
