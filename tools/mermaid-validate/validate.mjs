// Reads one Mermaid diagram on stdin and parses it with the real mermaid
// library: exit 0 (diagram type on stdout) when it parses, exit 1 with
// Mermaid's own error message on stderr when it does not.
//
// mermaid sanitizes labels with DOMPurify, which needs a window at import
// time; under plain Node most diagram types then fail with "DOMPurify.addHook
// is not a function". A jsdom window set before mermaid is imported is enough.
import { JSDOM } from 'jsdom';
import { text } from 'node:stream/consumers';

globalThis.window = new JSDOM('').window;
const { default: mermaid } = await import('mermaid');

const diagram = await text(process.stdin);
try {
  const result = await mermaid.parse(diagram);
  process.stdout.write(`${result.diagramType}\n`);
  process.exit(0);
} catch (err) {
  process.stderr.write(`${err?.message ?? String(err)}\n`);
  process.exit(1);
}
