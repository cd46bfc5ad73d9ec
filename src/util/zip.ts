/**
 * A ZIP archive writer (stored entries, no compression: weights do not compress and the page needs no deflate),
 * with CRC-32 and, past 4 GiB or 65535 entries, the ZIP64 records. Returns the archive as chunks so that no single
 * buffer holds it all.
 */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(chunks: readonly Uint8Array[]): number {
  let c = 0xffffffff;
  for (const b of chunks) for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

class Bytes {
  private readonly parts: number[] = [];
  u16(v: number) {
    this.parts.push(v & 0xff, (v >>> 8) & 0xff);
    return this;
  }
  u32(v: number) {
    for (let i = 0; i < 4; i++) this.parts.push(Math.floor(v / 2 ** (8 * i)) & 0xff);
    return this;
  }
  u64(v: number) {
    return this.u32(v % 2 ** 32).u32(Math.floor(v / 2 ** 32));
  }
  raw(b: Uint8Array) {
    for (const x of b) this.parts.push(x);
    return this;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

const MAX32 = 0xffffffff;

/** Entries are [path, chunks]; paths use '/' and must be relative. */
export function zipChunks(entries: readonly (readonly [string, readonly Uint8Array[]])[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const enc = new TextEncoder();
  for (const [path, chunks] of entries) {
    if (path.startsWith('/') || path.split('/').includes('..')) throw new Error(`zip: entry path ${JSON.stringify(path)} is not relative`);
    const name = enc.encode(path);
    const size = chunks.reduce((s, c) => s + c.length, 0);
    const crc = crc32(chunks);
    const big = size >= MAX32 || offset >= MAX32;
    // Local header (ZIP64 sizes in its extra field when needed); version 4.5 for ZIP64, flag bit 11: UTF-8 names.
    const localExtra = big ? new Bytes().u16(1).u16(16).u64(size).u64(size).done() : new Uint8Array(0);
    const local = new Bytes().u32(0x04034b50).u16(big ? 45 : 20).u16(0x0800).u16(0).u16(0).u16(0x21)
      .u32(crc).u32(big ? MAX32 : size).u32(big ? MAX32 : size).u16(name.length).u16(localExtra.length).raw(name).raw(localExtra).done();
    out.push(local, ...chunks);
    const cenExtra = big ? new Bytes().u16(1).u16(24).u64(size).u64(size).u64(offset).done() : new Uint8Array(0);
    central.push(new Bytes().u32(0x02014b50).u16(big ? 45 : 20).u16(big ? 45 : 20).u16(0x0800).u16(0).u16(0).u16(0x21)
      .u32(crc).u32(big ? MAX32 : size).u32(big ? MAX32 : size).u16(name.length).u16(cenExtra.length).u16(0).u16(0).u16(0).u32(0)
      .u32(big ? MAX32 : offset).raw(name).raw(cenExtra).done());
    offset += local.length + size;
  }
  const cenSize = central.reduce((s, c) => s + c.length, 0);
  out.push(...central);
  const zip64 = offset >= MAX32 || entries.length >= 0xffff;
  if (zip64) {
    out.push(new Bytes().u32(0x06064b50).u64(44).u16(45).u16(45).u32(0).u32(0).u64(entries.length).u64(entries.length).u64(cenSize).u64(offset).done());
    out.push(new Bytes().u32(0x07064b50).u32(0).u64(offset + cenSize).u32(1).done());
  }
  out.push(new Bytes().u32(0x06054b50).u16(0).u16(0).u16(Math.min(entries.length, 0xffff)).u16(Math.min(entries.length, 0xffff))
    .u32(Math.min(cenSize, MAX32)).u32(zip64 ? MAX32 : offset).u16(0).done());
  return out;
}
