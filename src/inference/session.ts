/**
 * One onnxruntime-node session and how scoregate runs it: intra-op threads 1 and spinning off
 * (two cores are shared with the event loop; a spinning pool would steal it), one float input
 * of [n, featureCount], and the fraud probability read from the `probabilities` output (column
 * 1 of [n, 2]) or from a single-column output.
 */
import * as ort from 'onnxruntime-node';

export class ModelSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly inputName: string,
    private readonly outputName: string,
    private readonly featureCount: number,
  ) {}

  static async open(onnxPath: string, featureCount: number): Promise<ModelSession> {
    const session = await ort.InferenceSession.create(onnxPath, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    });
    const inputs = session.inputNames;
    if (inputs.length !== 1) throw new Error(`model must take one input tensor, it takes ${inputs.length}: ${inputs.join(', ')}`);
    const outputs = session.outputNames;
    const outputName = outputs.includes('probabilities') ? 'probabilities' : outputs[outputs.length - 1]!;
    return new ModelSession(session, inputs[0]!, outputName, featureCount);
  }

  /** Scores n rows (row-major float32); returns n fraud probabilities. */
  async run(rows: Float32Array, n: number): Promise<Float32Array> {
    const F = this.featureCount;
    const input = new ort.Tensor('float32', rows.length === n * F ? rows : rows.subarray(0, n * F), [n, F]);
    const result = await this.session.run({ [this.inputName]: input }, [this.outputName]);
    const out = result[this.outputName];
    if (out === undefined) throw new Error(`model produced no ${this.outputName} output`);
    const data = out.data as Float32Array;
    const scores = new Float32Array(n);
    const stride = data.length / n;
    for (let i = 0; i < n; i++) scores[i] = data[i * stride + stride - 1]!;
    return scores;
  }

  /** Runs a batch of one and a full batch so the first real request finds everything allocated. */
  async warm(batchRows: number): Promise<void> {
    await this.run(new Float32Array(this.featureCount), 1);
    await this.run(new Float32Array(this.featureCount * batchRows), batchRows);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
