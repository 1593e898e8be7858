/**
 * Editing one value inside YAML text that someone else owns (kube-proxy's config.conf, kubeadm's
 * ClusterConfiguration) while keeping every other byte: scalars are replaced in place by their
 * source range; only a key that does not exist yet makes the document be re-rendered (with every
 * other field kept).
 */
import * as YAML from 'yaml';

/** `text` with the scalar at `path` set to `value`; `undefined` removes the key. */
export function setYamlValue(text: string, path: readonly (string | number)[], value: string | undefined): string {
  const doc = YAML.parseDocument(text, { keepSourceTokens: true });
  if (doc.errors.length > 0) throw new Error(`not valid YAML: ${doc.errors[0].message.split('\n')[0]}`);
  const node = doc.getIn(path, true);
  if (value !== undefined && YAML.isScalar(node) && node.range && (node.type === 'PLAIN' || node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE')) {
    if (node.value === value) return text;
    const quote = node.type === 'QUOTE_DOUBLE' ? '"' : node.type === 'QUOTE_SINGLE' ? "'" : '';
    return text.slice(0, node.range[0]) + quote + value + quote + text.slice(node.range[1]);
  }
  if (value === undefined) {
    if (!doc.hasIn(path)) return text;
    doc.deleteIn(path);
  } else {
    doc.setIn(path, value);
  }
  return doc.toString({ lineWidth: 0, indentSeq: !compactSequences(text) });
}

/**
 * `text` with the list at `path` holding just `value`: a one-item list has its item replaced in
 * place; an absent or empty one is set (the document re-rendered, every other field kept).
 */
export function setYamlSingletonList(text: string, path: readonly (string | number)[], value: string): string {
  const doc = YAML.parseDocument(text, { keepSourceTokens: true });
  if (doc.errors.length > 0) throw new Error(`not valid YAML: ${doc.errors[0].message.split('\n')[0]}`);
  const node = doc.getIn(path, true);
  if (YAML.isSeq(node) && node.items.length === 1) return setYamlValue(text, [...path, 0], value);
  if (node !== undefined && node !== null && !(YAML.isSeq(node) && node.items.length === 0) && !(YAML.isScalar(node) && node.value === null)) {
    throw new Error(`${path.join('.')} is not a list of at most one value`);
  }
  doc.setIn(path, doc.createNode([value], { flow: YAML.isSeq(node) && node.flow }));
  return doc.toString({ lineWidth: 0, indentSeq: !compactSequences(text) });
}

/**
 * Whether `text` writes block sequences at their key's indentation (`key:\n- item`), as Go's YAML
 * encoders do (kubeadm's ClusterConfiguration, kube-proxy's config.conf): a re-rendered document
 * then keeps that style, so the lines it did not change stay as they were.
 */
function compactSequences(text: string): boolean {
  return /^( *)[^\s#-][^\n]*:[ \t]*\r?\n\1- /m.test(text);
}
