/**
 * Answers never reveal the server's file system: an absolute path in a message (a model that
 * failed to load, a file that could not be read) is cut to its last component.
 */
const ABSOLUTE_PATH = /(^|[\s"'(=,[])\/(?:[\w.@+~-]+\/)+([\w.@+~-]*)/g;

export function redactPaths(text: string): string {
  if (text.indexOf('/') < 0) return text;
  return text.replace(ABSOLUTE_PATH, (_m, pre: string, last: string) => `${pre}…/${last}`);
}
