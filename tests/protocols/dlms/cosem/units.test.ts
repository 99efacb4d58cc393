import { describe, expect, it } from 'vitest';
import { INTERFACE_CLASSES, controlStateName, interfaceClassOf } from '../../../../protocols/dlms/cosem/classes.js';
import { applyScaler, catalogueExponent, unitSymbol } from '../../../../protocols/dlms/cosem/units.js';

describe('COSEM units and scalers', () => {
  it('applies the scaler as a power of ten without binary rounding surprises', () => {
    expect(applyScaler(123456, -2)).toBe(1234.56);
    expect(applyScaler(23012, -2)).toBe(230.12);
    expect(applyScaler(5, 3)).toBe(5000);
    expect(applyScaler(12345678901234n, -3)).toBe(12345678901.234);
  });

  it('maps Blue Book unit codes to the catalogue units', () => {
    expect(unitSymbol(27)).toBe('W');
    expect(unitSymbol(30)).toBe('Wh');
    expect(unitSymbol(35)).toBe('V');
    expect(unitSymbol(200)).toBe('unit(200)');
    expect(catalogueExponent(27, 'kW')).toBe(-3);
    expect(catalogueExponent(30, 'kWh')).toBe(-3);
    expect(catalogueExponent(32, 'kvarh')).toBe(-3);
    expect(catalogueExponent(33, 'A')).toBe(0);
    expect(catalogueExponent(44, 'Hz')).toBe(0);
    expect(catalogueExponent(255, '')).toBe(0);
    expect(catalogueExponent(35, 'kW')).toBeUndefined();
  });

  it('knows the interface classes by id', () => {
    expect(interfaceClassOf(8)).toBe('clock');
    expect(interfaceClassOf(70)).toBe('disconnectControl');
    expect(interfaceClassOf(9999)).toBeUndefined();
    expect(INTERFACE_CLASSES.profileGeneric.attributes.buffer).toBe(2);
    expect(controlStateName(2)).toBe('ready_for_reconnection');
  });
});
