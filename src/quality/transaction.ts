/** A transaction after parsing: every field present, typed and normalised. */
export interface Transaction {
  transactionId: string;
  userId: string;
  /** The amount as a number, for features. */
  amount: number;
  /** The amount as a canonical decimal string with two decimals ("12.50"), exact. */
  amountText: string;
  currency: string;
  /** Event time, epoch milliseconds. */
  timestamp: number;
  metadata: Record<string, string>;
  merchantId: string | null;
  channel: string | null;
}
