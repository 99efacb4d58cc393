/**
 * The Modbus adapter's configuration: the `modbus:` section (timeouts, reconnect backoff,
 * register maps) and a terminal's `modbus:` endpoint in the registry. The types the adapter
 * takes are derived from these schemas, so the file and the code cannot drift apart.
 *
 * A register point names a catalogue quantity, and the catalogue is the station's, which
 * protocols/ does not import: `modbusConfigSchema` takes the schema of a quantity name. The
 * station passes its catalogue (src/config/schema.ts), so a point naming no quantity is refused
 * at load with its key path; the protocol's own types take any name.
 */
import Type, { type Static, type TSchema, type TString } from 'typebox';
import { Host, OneOf, Port, strict } from '../config.js';

const REGISTER_TYPES = ['int16', 'uint16', 'int32', 'uint32', 'float32', 'float64'] as const;
const Address = Type.Integer({ minimum: 0, maximum: 65535 });
const Order = Type.Union([Type.Literal('big'), Type.Literal('little')], { default: 'big' });

/** Where a terminal is reached: one TCP connection per terminal. */
export const ModbusEndpoint = Type.Object(
  {
    host: Host,
    port: Port,
    /** `tcp`: Modbus TCP (MBAP header); `rtu-over-tcp`: RTU frames with CRC tunnelled over TCP. */
    framing: Type.Union([Type.Literal('tcp'), Type.Literal('rtu-over-tcp')], { default: 'tcp' }),
    /** Name of a register map under `modbus.registerMaps`. */
    registerMap: Type.String({ minLength: 1 }),
  },
  strict,
);

const RelayValues = {
  /** Value of the coil (0/1) or register when the supply is connected, and when it is not. */
  connected: Address,
  disconnected: Address,
};

/** Where a terminal keeps each meter's relay and power limit (controls.ts). */
const ModbusControls = Type.Object(
  {
    /** The relay: a coil (function 5 write, 1 read) or a holding register (6 write, 3 read). */
    relay: Type.Optional(Type.Union([
      Type.Object({ coil: Address, ...RelayValues }, strict),
      Type.Object({ register: Address, ...RelayValues }, strict),
    ])),
    /** The active power limit in holding registers: kW = raw × scale; `noLimit` (raw) means none, default the type's largest value. */
    limit: Type.Optional(Type.Object(
      {
        register: Address,
        type: OneOf(REGISTER_TYPES),
        scale: Type.Number({ exclusiveMinimum: 0 }),
        wordOrder: Type.Optional(OneOf(['big', 'little'] as const)),
        byteOrder: Type.Optional(OneOf(['big', 'little'] as const)),
        noLimit: Type.Optional(Type.Number()),
      },
      strict,
    )),
  },
  strict,
);

/** The `modbus:` section's schemas around the schema of a quantity name (see the file's head). */
export function modbusConfigSchema<Q extends TSchema>(quantity: Q) {
  const RegisterPoint = Type.Object(
    {
      quantity,
      /** Zero-based register address (protocol address, not the 3xxxx/4xxxx label). */
      address: Address,
      type: OneOf(REGISTER_TYPES),
      /** For multi-register values: `big` = high word first (Modbus convention). */
      wordOrder: Order,
      /** Byte order inside each 16-bit register; `little` swaps the two bytes. */
      byteOrder: Order,
      /** value = raw × scale + offset, in the catalogue unit. */
      scale: Type.Number({ default: 1 }),
      offset: Type.Number({ default: 0 }),
    },
    strict,
  );
  const RegisterMap = Type.Object(
    {
      /** 3: holding registers, 4: input registers. */
      function: Type.Union([Type.Literal(3), Type.Literal(4)]),
      /** Registers between two points that may be read through when merging blocks. */
      maxGap: Type.Integer({ minimum: 0, maximum: 125, default: 8 }),
      points: Type.Array(RegisterPoint, { minItems: 1 }),
      controls: Type.Optional(ModbusControls),
    },
    strict,
  );
  const ModbusConfig = Type.Object(
    {
      requestTimeoutMs: Type.Integer({ minimum: 50, maximum: 60_000, default: 2_000 }),
      reconnectMinMs: Type.Integer({ minimum: 10, default: 500 }),
      reconnectMaxMs: Type.Integer({ minimum: 10, default: 30_000 }),
      registerMaps: Type.Record(Type.String(), RegisterMap, { default: {} }),
    },
    strict,
  );
  return { RegisterPoint, RegisterMap, ModbusConfig };
}

/** The protocol's own types: a point's quantity is any name (the adapter reports the unmapped ones). */
type ProtocolSchemas = ReturnType<typeof modbusConfigSchema<TString>>;

export type ModbusEndpoint = Static<typeof ModbusEndpoint>;
export type ModbusFraming = ModbusEndpoint['framing'];
export type RegisterMapSpec = Static<ProtocolSchemas['RegisterMap']>;
export type RegisterPointSpec = Static<ProtocolSchemas['RegisterPoint']>;
export type RegisterType = RegisterPointSpec['type'];
export type WordEndianness = RegisterPointSpec['wordOrder'];
export type ModbusControlsSpec = Static<typeof ModbusControls>;
export type LimitControlSpec = NonNullable<ModbusControlsSpec['limit']>;
