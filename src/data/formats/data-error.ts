/** Bad input data: the message names the file, the line and the field, and is shown without a stack trace. */
export class DataError extends Error {}
