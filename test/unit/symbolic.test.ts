import { describe, expect, it } from 'vitest';
import { dim, evaluate, toPoly, format } from '../../src/ir/symbolic.js';

describe('symbolic dims', () => {
  it('keeps polynomials canonical', () => {
    expect(dim.mul('seq', 4)).toBe('seq*4');
    expect(dim.mul(4, 'seq')).toBe('seq*4');
    expect(dim.add(dim.mul('seq', 4), 'seq')).toBe('seq*5');
    expect(dim.sub(dim.add('height', 3), 3)).toBe('height');
    expect(dim.mul('batch', 'heads')).toBe(dim.mul('heads', 'batch'));
    expect(dim.product(['batch', 3, 'seq'])).toBe('batch*seq*3');
    expect(dim.add('a', 'b')).toBe('a + b');
    expect(dim.sub(1, 'a')).toBe('-a + 1');
  });

  it('divides exactly when it can and keeps floor/ceil terms otherwise', () => {
    expect(dim.floorDiv(dim.mul('seq', 4), 2)).toBe('seq*2');
    expect(dim.floorDiv(dim.mul('batch', 'heads'), 'heads')).toBe('batch');
    expect(dim.floorDiv(7, 2)).toBe(3);
    expect(dim.ceilDiv(7, 2)).toBe(4);
    const h = dim.add(dim.floorDiv(dim.sub('height', 1), 2), 1);
    expect(h).toBe('floor((height - 1)/2) + 1');
    expect(evaluate(h, { height: 15 })).toBe(8);
    expect(evaluate(h, { height: 16 })).toBe(8);
    expect(evaluate(dim.ceilDiv('w', 3), { w: 10 })).toBe(4);
  });

  it('compares by value, not by spelling', () => {
    expect(dim.equal(dim.add('a', 'b'), dim.add('b', 'a'))).toBe(true);
    expect(dim.equal('a', 'b')).toBe(false);
    expect(dim.equal(null, 'a')).toBe(false);
  });

  it('treats names from models as atoms, whatever characters they hold', () => {
    expect(format(toPoly('batch size*2'))).toBe('batch size*2');
    expect(dim.mul('batch size*2', 3)).toBe('batch size*2*3');
    expect(evaluate('batch size*2', { 'batch size*2': 5 })).toBe(5);
  });

  it('leaves unknowns unknown', () => {
    expect(dim.add(null, 1)).toBeNull();
    expect(evaluate('q', {})).toBeNull();
  });

  it('names an expression too long to write (nested floors of products) and still evaluates it', () => {
    // Five stride-2 stages of a CNN, each multiplying the two spatial sizes: the expanded expression explodes.
    let h: string | number = 'height';
    let w: string | number = 'width';
    for (let i = 0; i < 5; i++) {
      h = dim.add(dim.floorDiv(dim.sub(dim.mul(h, w), 1), 2), 1);
      w = dim.add(dim.floorDiv(dim.add(h, w), 2), 3);
    }
    expect(typeof h).toBe('string');
    expect((h as string).length).toBeLessThanOrEqual(160);
    // Somewhere along the way an expression got too long and was named.
    expect(h).toMatch(/expr_[0-9a-f]{16}/);
    // The same computation gives the same name; evaluation goes through the whole expression.
    let h2: string | number = 'height';
    let w2: string | number = 'width';
    const env = { height: 3, width: 5 };
    let hv = 3;
    let wv = 5;
    for (let i = 0; i < 5; i++) {
      h2 = dim.add(dim.floorDiv(dim.sub(dim.mul(h2, w2), 1), 2), 1);
      w2 = dim.add(dim.floorDiv(dim.add(h2, w2), 2), 3);
      hv = Math.floor((hv * wv - 1) / 2) + 1;
      wv = Math.floor((hv + wv) / 2) + 3;
    }
    expect(h2).toBe(h);
    expect(evaluate(h, env)).toBe(hv);
    expect(evaluate(w, env)).toBe(wv);
  });
});
