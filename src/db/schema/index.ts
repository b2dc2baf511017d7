export * from './users';
export * from './organizations';
export * from './memberships';
export * from './resource-limits';
