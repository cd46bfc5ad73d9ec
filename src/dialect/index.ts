export { toMint, type ToMintStats } from './to-mint.js';
export { lowerToOnnx, type LowerOptions } from './lower.js';
export { MINT_DOMAIN, dialectName, onnxOpOf, dialectTable } from './names.js';
