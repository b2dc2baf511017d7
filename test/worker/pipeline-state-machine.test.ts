// Every transition of the node, pipeline and job state machines, legal and illegal, from the tables.
import { describe, expect, it } from 'vitest';
import { isLegalJobTransition, jobTransition, jobTransitions, type JobVerb } from '../../src/domain/jobs/state-machine';
import { transition, transitions, type MachineKind, type Verb } from '../../src/domain/pipelines/state-machine';
import { jobStatuses, nodeStatuses } from '../../src/domain/pipelines/statuses';

const verbs: Verb[] = [
  'start',
  'approve',
  'revoke the approval of',
  'queue',
  'run',
  'succeed',
  'fail',
  'skip',
  'defer',
  'cancel',
  'finish canceling',
  'retry',
  'requeue',
  'hold',
];
const kinds = Object.keys(transitions) as MachineKind[];
const words: Record<MachineKind, string> = { TASK: 'task', STAGE: 'stage', PIPELINE: 'nested pipeline', RUN: 'pipeline' };

describe('node and pipeline state machine', () => {
  for (const kind of kinds) {
    it(`${kind}: every listed transition is accepted, every other one refused naming the node and its status`, () => {
      let legal = 0;
      for (const from of nodeStatuses)
        for (const verb of verbs)
          for (const to of nodeStatuses) {
            const listed = transitions[kind].some(([f, v, t]) => f === from && v === verb && t === to);
            if (listed) {
              expect(transition(kind, 'build', from, verb, to)).toBe(to);
              legal += 1;
            } else {
              expect(() => transition(kind, 'build', from, verb, to)).toThrow(`Cannot ${verb} ${words[kind]} build: it is ${from}`);
            }
          }
      expect(legal).toBe(transitions[kind].length);
    });
  }

  it('ends nothing that has ended, except a retry of a failed task', () => {
    for (const kind of kinds)
      for (const [from, verb] of transitions[kind]) {
        if (['SUCCEEDED', 'CANCELED', 'DEFERRED'].includes(from)) throw new Error(`${kind} leaves ${from}`);
        if (from === 'FAILED' || from === 'SKIPPED') expect(verb).toBe('retry');
      }
  });
});

describe('job state machine', () => {
  const jobVerbs: JobVerb[] = ['claim', 'run', 'finish', 'fail', 'cancel'];
  it('accepts exactly the listed transitions', () => {
    let legal = 0;
    for (const from of jobStatuses)
      for (const verb of jobVerbs)
        for (const to of jobStatuses) {
          if (isLegalJobTransition(from, verb, to)) {
            expect(jobTransition('j1', from, verb, to)).toBe(to);
            legal += 1;
          } else expect(() => jobTransition('j1', from, verb, to)).toThrow(`Cannot ${verb} job j1: it is ${from}`);
        }
    expect(legal).toBe(jobTransitions.length);
    expect(jobTransitions.some(([from]) => from === 'FINISHED' || from === 'FAILED' || from === 'CANCELED')).toBe(false);
  });
});
