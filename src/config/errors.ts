/**
 * Errors about user input (migration.yaml, cluster/ snapshot, CLI flags).
 *
 * Each one renders as a single line naming the file, the field path, the bad value and what is
 * allowed, so an operator can fix it without reading code. The CLI maps it to exit code 2.
 */
export class InputError extends Error {
  /** Exit code the CLI uses for invalid input. */
  public static readonly EXIT_CODE = 2;

  public static isInputError(x: unknown): x is InputError {
    return x instanceof InputError;
  }

  /**
   * @param file the file the value came from (as the user named it)
   * @param field dotted path of the field, e.g. spec.network.weaveCIDR
   * @param problem what is wrong, e.g. `got "10.32.0.0/33"`
   * @param allowed what would be accepted
   */
  constructor(
    public readonly file: string,
    public readonly field: string,
    public readonly problem: string,
    public readonly allowed?: string,
  ) {
    super(`${file}: ${field || '(document)'}: ${problem}${allowed ? `; allowed: ${allowed}` : ''}`.replace(/\s*\n\s*/g, ' '));
    this.name = 'InputError';
  }
}

/** Quote a value for an error message, bounded so a hostile value cannot flood the terminal. */
export function showValue(value: unknown): string {
  let text: string;
  if (value === undefined) {
    text = 'nothing';
  } else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Turn a JSON pointer such as /spec/nodes/waves/0/1 into spec.nodes.waves[0][1]. */
export function pointerToPath(pointer: string): string {
  if (!pointer) return '';
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(part)) {
      out += `[${part}]`;
    } else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(part)) {
      out += out ? `.${part}` : part;
    } else {
      out += `[${JSON.stringify(part)}]`;
    }
  }
  return out;
}

/** What the errno codes a write meets (a full disk, a read-only or someone else's folder) mean. */
const WRITE_ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EMFILE: 'too many open files in this process',
  ENFILE: 'too many open files on this machine',
  EIO: 'input/output error',
};

/**
 * `e` as one InputError line when the file system refused a write, else `e` unchanged. A full
 * disk or a folder the user cannot write is the machine's state, not a defect: it deserves one
 * line naming the path and the errno, and what was kept, rather than a stack. `kept` says what
 * the caller guarantees is left as it was; `shownAs` names the file the user knows (a write to a
 * temporary file beside it), else the path the error names.
 */
export function asWriteFailure(e: unknown, kept: string, shownAs?: string): unknown {
  const err = e as NodeJS.ErrnoException;
  if (e instanceof InputError || !err || typeof err.code !== 'string' || typeof err.syscall !== 'string' || !(err.code in WRITE_ERRNO_TEXT)) return e;
  return new InputError(shownAs ?? err.path ?? '(output)', '(file)', `cannot ${err.syscall}: ${err.code} (${WRITE_ERRNO_TEXT[err.code]}); ${kept}`, 'a folder this user can write, with room for the output');
}
