import { QfleetError } from "../errors.js";

/** Parsers for numeric CLI options: a bad value is one BAD_INPUT line, never NaN downstream. */
export function seconds(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0) throw new QfleetError("BAD_INPUT", `${flag} takes a number of seconds, not ${value}`);
  return n;
}

export function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new QfleetError("BAD_INPUT", `${flag} takes a whole number >= 1, not ${value}`);
  return n;
}
