/**
 * Active ISO 4217 codes, from the `currency-codes` package (kept in step with the ISO
 * maintenance agency's list 'one'). XXX (no currency) and XTS (reserved for testing) are not
 * currencies a payment can be made in, so they are refused.
 */
import cc from 'currency-codes';

const NOT_PAYABLE = new Set(['XXX', 'XTS']);

export const CURRENCIES: ReadonlySet<string> = new Set(cc.codes().filter((c) => !NOT_PAYABLE.has(c)));

export function isCurrency(code: string): boolean {
  return CURRENCIES.has(code);
}
