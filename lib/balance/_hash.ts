// The string hash of the consistent-hash ring; not exported by mod.ts.

const FNV_OFFSET_32 = 0x811c9dc5;
const FNV_PRIME_32 = 0x01000193;

/**
 * FNV-1a, 32 bits, over the UTF-8 bytes of `text`, computed without
 * allocating. A lone surrogate is hashed as its 3-byte (WTF-8) form.
 */
export function fnv1a32(text: string): number {
  let h = FNV_OFFSET_32;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, FNV_PRIME_32);
    } else if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), FNV_PRIME_32);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME_32);
    } else {
      const next = i + 1 < length ? text.charCodeAt(i + 1) : 0;
      if (c >= 0xd800 && c < 0xdc00 && next >= 0xdc00 && next < 0xe000) {
        i++;
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        h = Math.imul(h ^ (0xf0 | (c >> 18)), FNV_PRIME_32);
        h = Math.imul(h ^ (0x80 | ((c >> 12) & 0x3f)), FNV_PRIME_32);
      } else {
        h = Math.imul(h ^ (0xe0 | (c >> 12)), FNV_PRIME_32);
      }
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME_32);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME_32);
    }
  }
  return h >>> 0;
}

/** MurmurHash3's 32-bit finalizer: full avalanche, so similar inputs spread over the ring. */
export function mix32(hash: number): number {
  let h = hash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The ring position of `text`: FNV-1a 32 then the murmur3 finalizer, in [0, 2³²). */
export function hashString(text: string): number {
  return mix32(fnv1a32(text));
}
