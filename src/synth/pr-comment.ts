/**
 * The pull-request comment made from PLAN.md. GitHub refuses an issue or pull-request comment
 * whose body is longer than 65,536 characters ("Body is too long (maximum is 65536 characters)",
 * REST API, create an issue comment), and a step summary larger than 1 MiB ("$GITHUB_STEP_SUMMARY
 * upload aborted, supports content up to a size of 1024k", workflow commands, "Adding a job
 * summary"). PLAN.md is written to fit a comment; this is the net under it: a PLAN.md that does not
 * fit is cut before the first section that would not fit, and the rest is linked.
 */

/** GitHub's limit for a comment body, in characters. */
export const GITHUB_COMMENT_MAX_CHARS = 65536;
/** What the workflow asks for by default: GitHub's limit less a margin for GitHub's own counting. */
export const DEFAULT_COMMENT_MAX_CHARS = 65000;

/**
 * `plan` as a comment body of at most `maxChars` characters (UTF-16 code units, which are never
 * fewer than the characters GitHub counts). When it has to cut, it cuts at a section heading
 * (`## `) if one fits, else at a line, and ends with a note linking to the whole file.
 */
export function prCommentBody(plan: string, maxChars: number = DEFAULT_COMMENT_MAX_CHARS, link?: string): string {
  if (!Number.isInteger(maxChars) || maxChars < 1000) throw new RangeError(`maxChars must be a whole number of at least 1000, got ${maxChars}`);
  if (plan.length <= maxChars) return plan;
  const where = link ? `[dist/PLAN.md](${link})` : '`dist/PLAN.md` in this pull request';
  const note = (shown: number) => `\n\n---\n\n**PLAN.md is ${plan.length.toLocaleString('en-US')} characters, more than a pull-request comment holds; the first ${shown.toLocaleString('en-US')} are above. Read the rest in ${where}.**\n`;
  const room = maxChars - note(plan.length).length;
  let cut = plan.lastIndexOf('\n## ', room);
  if (cut <= 0) cut = plan.lastIndexOf('\n', room);
  if (cut <= 0) cut = room;
  const body = plan.slice(0, cut).trimEnd();
  return `${body}${note(body.length)}`;
}
