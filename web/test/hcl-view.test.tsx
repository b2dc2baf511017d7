// The read-only HCL view: Prism's HCL grammar, one rendered line per source line, text never markup;
// and the Start pipeline form's variable values, sent as JSON texts.
import { render, screen } from '@solidjs/testing-library';
import { describe, expect, it } from 'vitest';
import { highlightHcl } from '../src/pipeline/hcl-highlight';
import { HclView } from '../src/pipeline/hcl-view';
import { variableNamed, variablesToSend } from '../src/pipeline/variables';

const source = `# deploy
variable "image" {
  type    = string
  default = "app:\${var.tag}"
}
stage "build" {
  task "compile" {
    attempts = 3
  }
}
`;

describe('highlightHcl', () => {
  it('gives one line per source line, with comments, strings, numbers and properties classed', () => {
    const lines = highlightHcl(source);
    const sourceLines = source.split('\n').slice(0, -1);
    expect(lines).toHaveLength(sourceLines.length);
    expect(lines.map((line) => line.map((segment) => segment.text).join(''))).toEqual(sourceLines);
    expect(highlightHcl('a = 1\n\n')).toHaveLength(2);
    const classOf = (text: string) => lines.flat().find((segment) => segment.text.includes(text))?.classes ?? '';
    expect(classOf('# deploy')).toContain('comment');
    expect(classOf('"app:')).toContain('string');
    expect(classOf('3')).toContain('number');
    expect(classOf('attempts')).toContain('property');
  });

  it('renders markup in a template as text', () => {
    render(() => <HclView source={'description = "<img src=x onerror=alert(1)>"'} label="HCL of evil" />);
    const view = screen.getByRole('region', { name: 'HCL of evil' });
    expect(view.querySelector('img')).toBeNull();
    expect(view.textContent).toContain('<img src=x onerror=alert(1)>');
  });
});

describe('variablesToSend', () => {
  const declared = [
    { name: 'image', type: 'string', hasDefault: false },
    { name: 'ports', type: 'list(number)', hasDefault: true },
    { name: 'replicas', type: 'number', hasDefault: true },
  ];

  it('quotes strings, passes JSON through and leaves empty optional ones out', () => {
    expect(variablesToSend(declared, { image: 'app:1.4', ports: '[8000, 8001]', replicas: '' })).toEqual({
      entries: [
        { key: 'image', value: '"app:1.4"' },
        { key: 'ports', value: '[8000, 8001]' },
      ],
    });
  });

  it('refuses a missing required value and a value that is not JSON, naming the variable', () => {
    expect(variablesToSend(declared, {})).toMatchObject({ name: 'image', error: expect.stringContaining('variables.image') });
    expect(variablesToSend(declared, { image: 'x', replicas: 'three' })).toMatchObject({ name: 'replicas', error: expect.stringContaining('e.g. 42') });
  });

  it('finds the variable an API error names', () => {
    const sent = [
      { key: 'image', value: '"x"' },
      { key: 'ports', value: '"a"' },
    ];
    expect(variableNamed('input.variables[1].value: a list is required', sent)).toBe('ports');
    expect(variableNamed('variables.pin: a number is required, not string', sent)).toBe('pin');
    expect(variableNamed('environmentName: refused', sent)).toBeUndefined();
  });
});
