/**
 * JSON.parse whose error says where the text is wrong, never what it says. V8's messages quote
 * the text (`Unexpected token 'r', "root:$y$j9"... is not valid JSON`): for a file that was never
 * JSON (`{"manifest": "/etc/shadow"}`) that hands its first characters to whoever asked. Here the
 * problem is located with jsonc-parser (strict: no comments, no trailing commas) and described by
 * its kind, line and column only.
 */
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { InvalidArgumentError } from './errors.js';

export interface JsonSyntaxProblem {
  /** 1-based. */
  line: number;
  column: number;
  /** What kind of mistake, in words that quote nothing from the text (e.g. "a value was expected"). */
  problem: string;
}

/** Each kind of mistake jsonc-parser reports, in words (exported for the test that checks no text leaks). */
export const JSON_PROBLEMS: Readonly<Record<string, string>> = {
  InvalidSymbol: 'a character that cannot start a JSON value',
  InvalidNumberFormat: 'a number that is not written as JSON writes numbers',
  PropertyNameExpected: 'a property name (in double quotes) was expected',
  ValueExpected: 'a value was expected',
  ColonExpected: 'a ":" was expected',
  CommaExpected: 'a "," was expected',
  CloseBraceExpected: 'a "}" was expected',
  CloseBracketExpected: 'a "]" was expected',
  EndOfFileExpected: 'the text goes on after the JSON value',
  InvalidCommentToken: 'comments are not JSON',
  UnexpectedEndOfComment: 'comments are not JSON',
  UnexpectedEndOfString: 'a string is not closed',
  UnexpectedEndOfNumber: 'a number is cut short',
  InvalidUnicode: 'a \\u escape is not four hex digits',
  InvalidEscapeCharacter: 'a backslash escape that JSON does not know',
  InvalidCharacter: 'a control character inside a string',
  Empty: 'the text is empty',
};

/** Where `text` stops being JSON (undefined when it parses). */
export function jsonSyntaxProblem(text: string): JsonSyntaxProblem | undefined {
  if (text.trim() === '') return { line: 1, column: 1, problem: JSON_PROBLEMS.Empty! };
  const errors: ParseError[] = [];
  parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (!first) return undefined;
  const before = text.slice(0, first.offset);
  const line = before.split('\n').length;
  const column = first.offset - before.lastIndexOf('\n');
  const code = printParseErrorCode(first.error);
  return { line, column, problem: JSON_PROBLEMS[code] ?? JSON_PROBLEMS.InvalidSymbol! };
}

/**
 * Parses JSON; a syntax error becomes an InvalidArgumentError `<what> is not valid JSON (line L,
 * column C: <problem>)` with `data: { line, column }`, and nothing of the text itself.
 */
export function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const where = jsonSyntaxProblem(text) ?? { line: 1, column: 1, problem: JSON_PROBLEMS.InvalidSymbol! };
    throw new InvalidArgumentError(
      `${what} is not valid JSON (line ${where.line}, column ${where.column}: ${where.problem})`,
      { data: { line: where.line, column: where.column } },
    );
  }
}
