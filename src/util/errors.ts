/** The error types every layer may throw, in the lowest module so that none imports upward for them. */

/** Bad input: the message names the file, the line and the field (or the path in use), shown without a stack trace. */
export class DataError extends Error {}

/** Storage that failed under a run (a block read or written, an undo log damaged): the message names the file and block. */
export class StorageError extends Error {}

/** A run that cannot be carried out as configured (a policy's requirement, a tier that does not fit its device). */
export class ConfigError extends Error {}
