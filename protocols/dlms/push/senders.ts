/**
 * Who may send a push, as the push receiver asks the station: the receiver ties a push to
 * a terminal and a meter address from what the push carries (receiver.ts), and the station's
 * registry answers. Declared here so that `protocols/` knows nothing of the registry; the
 * station implements it over its topology.
 */

/** A terminal a push can be tied to. */
export interface PushTerminal {
  readonly id: string;
  /** A DLMS terminal: its meters can be read through its lane (scalers, push object lists). */
  readonly dlms: boolean;
  /** Its endpoint asks for APDU protection: a plain push in its name is refused (security event). */
  readonly requiresSecurity: boolean;
  /** Its meters' addresses (server logical devices). */
  readonly addresses: readonly string[];
}

export interface PushSenderLookup {
  /** The meter the key store tied a ciphered push's system title to; any protocol. */
  meter(meterId: string): { readonly terminal: PushTerminal; readonly address: string } | undefined;
  /** The DLMS terminal whose endpoint's logical device name is `name`. */
  byLogicalDeviceName(name: string): PushTerminal | undefined;
  /** The one DLMS terminal whose endpoint host is `host`; undefined when none, or several (a gateway, a NAT). */
  byHost(host: string): PushTerminal | undefined;
  /** A DLMS terminal by id (the MQTT topic's). */
  dlmsTerminal(id: string): PushTerminal | undefined;
}
