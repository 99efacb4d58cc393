/**
 * The DLMS/COSEM adapter's configuration: the `dlms:` section (timeouts, GET-with-list size,
 * the push intake, the station's system title) and a terminal's `dlms:` endpoint in the
 * registry. The endpoint type the adapter, the registry and the key store take is derived
 * from the schema here, so there is one definition of it.
 *
 * Keys and passwords are never part of an endpoint: they live in the station's key store and
 * reach the adapter through `DlmsAdapterOptions.securityFor` / `passwordFor`.
 */
import Type, { type Static } from 'typebox';
import { Host, OneOf, Port, strict } from '../config.js';
import { IMAGE_OBIS } from './cosem/imageTransfer.js';

const SystemTitle = Type.String({ pattern: '^[0-9A-Fa-f]{16}$' });

const ObisText = Type.String({ pattern: '^\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}$' });

/**
 * A meter's payment metering objects. `topUp`: 'update-amount' adds credit through the Credit's
 * update_amount (§4.6.3 method 1), 'token-gateway' enters the vending system's token through the
 * Token gateway (§4.6.5 method 1), for meters that take credit only from tokens.
 */
export const DlmsPaymentEndpoint = Type.Object(
  {
    /** Default 0.0.19.0.0.255. */
    account: Type.Optional(ObisText),
    /** Default 'update-amount'. */
    topUp: Type.Optional(OneOf(['update-amount', 'token-gateway'] as const)),
    /** The Credit update_amount adds to; absent: the account's first token credit. */
    credit: Type.Optional(ObisText),
    /** Default 0.0.19.40.0.255. */
    tokenGateway: Type.Optional(ObisText),
  },
  strict,
);

/**
 * Where a meter type keeps its firmware and nameplate objects; each absent name is the
 * default (DLMS_METER_OBJECTS).
 */
export const DlmsMeterObjects = Type.Object(
  {
    /** IC 18 Image transfer; default 0.0.44.0.0.255. */
    imageTransfer: Type.Optional(ObisText),
    /** IC 22 Single action schedule of image activation; default 0.0.15.0.2.255. */
    activationSchedule: Type.Optional(ObisText),
    /** IC 1 Data, active firmware identifier; default 1.0.0.2.0.255. */
    firmwareIdentifier: Type.Optional(ObisText),
    /** IC 1 Data, active firmware signature; default 1.0.0.2.8.255. */
    firmwareSignature: Type.Optional(ObisText),
    /** IC 1 Data, COSEM logical device name (its first 3 characters are the manufacturer's FLAG id); default 0.0.42.0.0.255. */
    logicalDeviceName: Type.Optional(ObisText),
    /** IC 1 Data; defaults 0.0.96.1.0.255, 0.0.96.1.1.255, 0.0.96.1.2.255. */
    serial: Type.Optional(ObisText),
    model: Type.Optional(ObisText),
    hardwareVersion: Type.Optional(ObisText),
  },
  strict,
);

/** What the station knows of a meter type (the endpoint's `meterType`) beyond what the meter says. */
export const DlmsMeterType = Type.Object(
  {
    objects: Type.Optional(DlmsMeterObjects),
    /** The largest image the type takes, in octets: a larger one is refused before image_transfer_initiate. */
    maxImageBytes: Type.Optional(Type.Integer({ minimum: 1, maximum: 0xffffffff })),
    /** How long verification or activation may take before the station gives up waiting; default 120 000. */
    verifyTimeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000 })),
  },
  strict,
);

/** Where a meter is reached and how it is associated. */
export const DlmsEndpoint = Type.Object(
  {
    host: Host,
    port: Port,
    /** `wrapper`: IEC 62056-47 TCP wrapper; `hdlc`: IEC 62056-46 HDLC frames over TCP. */
    framing: Type.Union([Type.Literal('wrapper'), Type.Literal('hdlc')], { default: 'wrapper' }),
    /** Client SAP: 16 public client (no security), 1 management client (low-level security), 48 HLS management client. */
    clientSap: Type.Integer({ minimum: 0, maximum: 127, default: 16 }),
    /** 'low': LLS with the meter's password, 'high-gmac': HLS mechanism 5; both from the key store. */
    auth: OneOf(['none', 'low', 'high-gmac'] as const, { default: 'none' }),
    /** APDU protection with security suite 0 (keys from the key store); absent: 'none'. */
    security: Type.Optional(OneOf(['none', 'auth', 'enc', 'auth-enc'] as const, { default: 'none' })),
    /** A fresh dedicated key per association (IEC 62056-5-3 §8); needs security 'enc' or 'auth-enc'. */
    dedicatedKey: Type.Optional(Type.Boolean()),
    /** How requests are ciphered: glo-/ded- service-specific APDUs, or general-glo-ciphering (IEC 62056-5-3 §8); absent: 'service-specific'. */
    ciphering: Type.Optional(OneOf(['service-specific', 'general-glo'] as const)),
    /** The meter's system title (8 octets as 16 hex digits): checked in the AARE, identifies its ciphered pushes. */
    systemTitle: Type.Optional(SystemTitle),
    /** The meter's COSEM logical device name (0.0.42.0.0.255), which identifies its unciphered pushes. */
    logicalDeviceName: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    /** Key set shared by a group of meters (key store), used when the meter has none of its own. */
    keyGroup: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    /** HDLC lower (physical device) address, when the meter needs one. */
    serverLower: Type.Optional(Type.Integer({ minimum: 0, maximum: 16383 })),
    /** Meters of one type share an object list: it is then read once per type, not per association. */
    meterType: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    /** Meters that keep their own account (Blue Book §4.6 payment metering): where it is and how credit is added. */
    payment: Type.Optional(DlmsPaymentEndpoint),
  },
  strict,
);

/** Pushed data-notifications (IC 40 push setup on the meters): TCP wrapper listener and MQTT binary topic. */
export const DlmsPushConfig = Type.Object(
  {
    listen: Type.Object(
      {
        enabled: Type.Boolean({ default: false }),
        host: Type.String({ default: '127.0.0.1' }),
        /** 4059 is the IANA port of DLMS/COSEM; 0 picks a free one. */
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 4059 }),
      },
      strict,
    ),
    /** Subscribe to `<mqtt.topicPrefix>/+/dlms/notify` on the head-end's broker. */
    mqtt: Type.Object({ enabled: Type.Boolean({ default: false }) }, strict),
    maxConnections: Type.Integer({ minimum: 1, maximum: 100_000, default: 1_000 }),
    /** Largest pushed APDU accepted (wrapper frame or MQTT payload). */
    maxApduBytes: Type.Integer({ minimum: 64, maximum: 65_535, default: 4_096 }),
    /** Bytes one TCP connection may carry before the listener closes it (the meter reconnects). */
    maxBytesPerConnection: Type.Integer({ minimum: 1_024, default: 1_048_576 }),
    idleTimeoutMs: Type.Integer({ minimum: 1_000, default: 600_000 }),
    /** After a failed scaler read for a meter, wait this long before reading again. */
    scalerRetryMs: Type.Integer({ minimum: 100, default: 60_000 }),
    /** Push object lists read from meters whose pushes follow no known list. */
    lists: Type.Object(
      {
        /** Pushes waiting for their meter's lists, in all and per meter; more are dead-lettered. */
        maxWaiting: Type.Integer({ minimum: 1, maximum: 100_000, default: 256 }),
        maxWaitingPerMeter: Type.Integer({ minimum: 1, maximum: 1_000, default: 16 }),
        /** Least time between two reads of one meter's lists. */
        readRetryMs: Type.Integer({ minimum: 100, default: 60_000 }),
        /** Meters whose learnt lists the embedded store keeps; the least recently learnt go first. */
        maxMeters: Type.Integer({ minimum: 1, default: 100_000 }),
      },
      strict,
    ),
    /** Pushes over TCP that yielded nothing, kept with their bytes (over MQTT: mqtt.deadLetterTopic). */
    deadLetters: Type.Object(
      {
        maxRows: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 10_000 }),
        /** Dead letters waiting to be written (the store is slow or away); past it they are only counted. */
        maxQueued: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1_000 }),
      },
      strict,
    ),
  },
  strict,
);

export const DlmsConfig = Type.Object(
  {
    /** Bounds the TCP connect, the HDLC link set-up and every request of an association. */
    requestTimeoutMs: Type.Integer({ minimum: 100, maximum: 120_000, default: 5_000 }),
    /** Attributes per GET-with-list request; meters commonly accept 10 to 32. */
    maxListItems: Type.Integer({ minimum: 1, maximum: 64, default: 16 }),
    /**
     * scaler_unit entries kept, one per meter and register (about 150 bytes each): a meter
     * whose entries were evicted has its scalers read again with its values. Size it to
     * meters × registers read; the default fits 20,000 meters of ten registers.
     */
    maxScalerEntries: Type.Integer({ minimum: 100, maximum: 50_000_000, default: 200_000 }),
    /** Pushed data-notifications: see DlmsPushConfig. */
    push: DlmsPushConfig,
    /** Per meter type (the endpoint's `meterType`): firmware and nameplate objects, largest image. */
    meterTypes: Type.Record(Type.String({ minLength: 1, maxLength: 64 }), DlmsMeterType, { default: {} }),
    /** The station's system title (8 octets, 16 hex digits) in AARQs and ciphered APDUs; default "GRD" and five zero octets. */
    systemTitle: Type.String({ pattern: '^[0-9A-Fa-f]{16}$', default: '4752440000000000' }),
  },
  strict,
);

export type DlmsEndpoint = Static<typeof DlmsEndpoint>;
export type DlmsMeterTypeSettings = Static<typeof DlmsMeterType>;
export type DlmsMeterObjectNames = Required<Static<typeof DlmsMeterObjects>>;

/** The objects of a meter type with no names configured (the firmware contract's defaults). */
export const DLMS_METER_OBJECTS: DlmsMeterObjectNames = {
  ...IMAGE_OBIS,
  logicalDeviceName: '0.0.42.0.0.255',
  serial: '0.0.96.1.0.255',
  model: '0.0.96.1.1.255',
  hardwareVersion: '0.0.96.1.2.255',
};
export type DlmsPushSettings = Static<typeof DlmsPushConfig>;
