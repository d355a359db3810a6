/**
 * A small builder over the ONNX protobuf messages (onnx-proto, protobufjs-generated): nodes,
 * initializers and graph I/O, with unique value names, so the exporter reads as the forward.
 */
import onnxProto from 'onnx-proto';

export const { onnx } = onnxProto;
export type Onnx = typeof onnx;

/** ONNX TensorProto.DataType values the exporter writes. */
export const DType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;
export type DTypeCode = (typeof DType)[keyof typeof DType];

export type AttrValue = number | readonly number[] | { float: number };

/** A symbolic or fixed dimension of a graph input/output. */
export type Dim = string | number;

export class GraphBuilder {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private counter = 0;

  /** A fresh value name under `hint`. */
  name(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  input(name: string, dtype: DTypeCode, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, dtype, dims));
    return name;
  }

  /** Route `value` to the graph output `name` (an Identity keeps internal names free). */
  output(name: string, value: string, dtype: DTypeCode, dims: readonly Dim[]): void {
    this.nodes.push({ opType: 'Identity', input: [value], output: [name], name: `${name}_out` });
    this.outputs.push(valueInfo(name, dtype, dims));
  }

  /** A constant tensor stored as raw little-endian bytes. */
  tensor(hint: string, dtype: DTypeCode, dims: readonly number[], data: Float32Array | Int8Array | Uint8Array | BigInt64Array): string {
    const name = this.name(hint);
    this.initializers.push({ name, dataType: dtype, dims: [...dims], rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  float(hint: string, values: readonly number[] | Float32Array, dims: readonly number[] = [values.length]): string {
    return this.tensor(hint, DType.FLOAT, dims, Float32Array.from(values));
  }

  int64(hint: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.tensor(hint, DType.INT64, dims, BigInt64Array.from(values.map(BigInt)));
  }

  /** One node; returns its output names (`outputs` of them). */
  ops(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, outputs = 1): string[] {
    const out = Array.from({ length: outputs }, () => this.name(opType));
    this.nodes.push({ opType, input: [...inputs], output: out, name: out[0]!, attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) });
    return out;
  }

  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}): string {
    return this.ops(opType, inputs, attrs, 1)[0]!;
  }

  model(graphName: string, opset: number, producer: string): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: producer,
      opsetImport: [{ domain: '', version: opset }],
      graph: { name: graphName, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, dtype: DTypeCode, dims: readonly Dim[]): onnxProto.onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType: dtype, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } } };
}

function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return { name, type: T.INT, i: v };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  return { name, type: T.INTS, ints: [...v] };
}
