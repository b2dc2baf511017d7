// Review finding: a template of many small stages or tasks (a 128 KiB upload holds thousands)
// compiled, and every pipeline created from it inserted one row per node in one statement — past
// Postgres's bind-parameter limit that is a 500, and short of it the engine's per-transition work
// grows with every node. The compiler caps stages, children per stage and children in all.
import { describe, expect, it } from 'vitest';
import { compilePipelineTemplate, templateLimits } from '../../src/domain/templates/compile';

const task = (name: string) => `task "${name}" {}\n`;

function problemsOf(source: string): string[] {
  const result = compilePipelineTemplate(source);
  if (result.ok) throw new Error('expected problems, the template compiled');
  return result.problems.map((problem) => `${problem.line}:${problem.column}: ${problem.message}`);
}

describe('template size limits', () => {
  it('compiles templates at each limit', () => {
    const stages = (count: number, tasks: number) =>
      Array.from({ length: count }, (_, s) => `stage "s${s}" {\n${Array.from({ length: tasks }, (_, t) => task(`t${t}`)).join('')}}\n`).join('');
    expect(compilePipelineTemplate(stages(templateLimits.stages, 1)).ok).toBe(true);
    expect(compilePipelineTemplate(stages(templateLimits.children / templateLimits.childrenPerStage, templateLimits.childrenPerStage)).ok).toBe(true);
  });

  it('refuses more stages than the limit, naming it', () => {
    const source = Array.from({ length: templateLimits.stages + 1 }, (_, s) => `stage "s${s}" {\n${task('t')}}\n`).join('');
    const problems = problemsOf(source);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toBe(
      `${3 * templateLimits.stages + 1}:1: A template has at most ${templateLimits.stages} stages; this one has ${templateLimits.stages + 1}.`,
    );
  });

  it('refuses a stage with more tasks and nested pipelines than the limit, naming the stage', () => {
    const children = Array.from({ length: templateLimits.childrenPerStage + 1 }, (_, t) => task(`t${t}`)).join('');
    const problems = problemsOf(`stage "big" {\n${children}}\n`);
    expect(problems).toEqual([
      `1:1: stage "big" has ${templateLimits.childrenPerStage + 1} tasks and nested pipelines; a stage has at most ${templateLimits.childrenPerStage}.`,
    ]);
  });

  it('refuses a template with more tasks and nested pipelines in all than the limit', () => {
    const perStage = templateLimits.childrenPerStage;
    const stageCount = Math.floor(templateLimits.children / perStage) + 1;
    const source = Array.from(
      { length: stageCount },
      (_, s) => `stage "s${s}" {\n${Array.from({ length: perStage }, (_, t) => task(`t${t}`)).join('')}}\n`,
    ).join('');
    const problems = problemsOf(source);
    expect(problems).toEqual([
      `1:1: A template has at most ${templateLimits.children} tasks and nested pipelines in all; this one has ${stageCount * perStage}.`,
    ]);
  });

  it('stays fast on a 128 KiB template of tiny stages', () => {
    const source = Array.from({ length: 12_000 }, (_, s) => `stage "s${s}" {\n}\n`)
      .join('')
      .slice(0, 131_072);
    const started = performance.now();
    const result = compilePipelineTemplate(source);
    expect(result.ok).toBe(false);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
