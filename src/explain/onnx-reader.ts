/**
 * Reads the one node of an ONNX model that explanations need — the ai.onnx.ml TreeEnsemble —
 * straight from the protobuf bytes. Hand-written rather than a dependency: we read six fields
 * of four messages (ModelProto.graph, GraphProto.node, NodeProto.op_type/domain/attribute,
 * AttributeProto's scalars and repeated values) and want them as typed arrays; the npm
 * `onnx-proto` package is a generated protobufjs build of an old onnx.proto that decodes every
 * message of the file into objects (int64s as Long) and would add two dependencies for that.
 * The wire format read here is protobuf's (varint, 64-bit, length-delimited, 32-bit), with
 * repeated numbers packed or not, as the spec allows either.
 */

export class OnnxReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxReadError';
  }
}

/** One attribute of a node; only the fields TreeEnsemble attributes use are kept. */
export interface OnnxAttribute {
  name: string;
  f?: number;
  i?: number;
  s?: string;
  floats: number[];
  ints: number[];
  strings: string[];
  /** True when the attribute holds a tensor (e.g. nodes_values_as_tensor): not read here. */
  hasTensor: boolean;
}

export interface OnnxNode {
  opType: string;
  domain: string;
  attributes: Map<string, OnnxAttribute>;
}

const utf8 = new TextDecoder('utf-8');

class Reader {
  pos: number;
  constructor(
    private readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as a JS number; int64s beyond 2^53 (negative ones are 10 bytes) go through BigInt. */
  varint(): number {
    let result = 0;
    let mul = 1;
    const start = this.pos;
    for (let n = 0; n < 10; n++) {
      if (this.pos >= this.end) throw new OnnxReadError('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (n < 7) return result;
        return this.bigVarint(start);
      }
      mul *= 128;
    }
    throw new OnnxReadError('varint longer than 10 bytes');
  }

  private bigVarint(start: number): number {
    let v = 0n;
    let shift = 0n;
    for (let p = start; p < this.pos; p++) {
      v |= BigInt(this.buf[p]! & 0x7f) << shift;
      shift += 7n;
    }
    return Number(BigInt.asIntN(64, v));
  }

  float32(): number {
    if (this.pos + 4 > this.end) throw new OnnxReadError('truncated float');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  /** A length-delimited field's [start, end). */
  span(): [number, number] {
    const len = this.varint();
    const s = this.pos;
    if (s + len > this.end) throw new OnnxReadError('length-delimited field runs past its message');
    this.pos += len;
    return [s, s + len];
  }

  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        return;
      case 2:
        this.span();
        return;
      case 5:
        this.pos += 4;
        return;
      default:
        throw new OnnxReadError(`unsupported protobuf wire type ${wire}`);
    }
  }

  sub(span: [number, number]): Reader {
    return new Reader(this.buf, span[0], span[1]);
  }

  text(span: [number, number]): string {
    return utf8.decode(this.buf.subarray(span[0], span[1]));
  }
}

function readAttribute(r: Reader): OnnxAttribute {
  const a: OnnxAttribute = { name: '', floats: [], ints: [], strings: [], hasTensor: false };
  while (!r.done) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 1 && wire === 2) a.name = r.text(r.span());
    else if (field === 2 && wire === 5) a.f = r.float32();
    else if (field === 3 && wire === 0) a.i = r.varint();
    else if (field === 4 && wire === 2) a.s = r.text(r.span());
    else if (field === 7 && wire === 5) a.floats.push(r.float32());
    else if (field === 7 && wire === 2) {
      const p = r.sub(r.span());
      while (!p.done) a.floats.push(p.float32());
    } else if (field === 8 && wire === 0) a.ints.push(r.varint());
    else if (field === 8 && wire === 2) {
      const p = r.sub(r.span());
      while (!p.done) a.ints.push(p.varint());
    } else if (field === 9 && wire === 2) a.strings.push(r.text(r.span()));
    else if ((field === 5 || field === 10) && wire === 2) {
      a.hasTensor = true;
      r.skip(wire);
    } else r.skip(wire);
  }
  return a;
}

function readNode(r: Reader): OnnxNode {
  const node: OnnxNode = { opType: '', domain: '', attributes: new Map() };
  while (!r.done) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 4 && wire === 2) node.opType = r.text(r.span());
    else if (field === 7 && wire === 2) node.domain = r.text(r.span());
    else if (field === 5 && wire === 2) {
      const a = readAttribute(r.sub(r.span()));
      node.attributes.set(a.name, a);
    } else r.skip(wire);
  }
  return node;
}

/** Every node of the model's main graph (attributes decoded), in graph order. */
export function readOnnxNodes(bytes: Uint8Array): OnnxNode[] {
  const model = new Reader(bytes, 0, bytes.length);
  const nodes: OnnxNode[] = [];
  let sawGraph = false;
  while (!model.done) {
    const key = model.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 7 && wire === 2) {
      sawGraph = true;
      const g = model.sub(model.span());
      while (!g.done) {
        const gk = g.varint();
        if (Math.floor(gk / 8) === 1 && (gk & 7) === 2) nodes.push(readNode(g.sub(g.span())));
        else g.skip(gk & 7);
      }
    } else model.skip(wire);
  }
  if (!sawGraph) throw new OnnxReadError('not an ONNX model: no graph');
  return nodes;
}
