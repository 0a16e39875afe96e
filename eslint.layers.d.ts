/** Types of eslint.layers.js, for the test that checks its rules fire. */
export interface Layer {
  readonly folders: readonly string[];
  readonly packages: readonly string[] | 'any';
  readonly files?: readonly string[];
  readonly only?: Readonly<Record<string, readonly string[]>>;
}
export declare const LAYERS: Readonly<Record<string, Layer>>;
export declare const MAX_DEPTH: number;
export declare function restrictedPatterns(
  folder: string,
  depth: number,
): { readonly regex: string; readonly message: string }[];
