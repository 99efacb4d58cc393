/** Logical names of the simulated meter's objects other than its Registers (see registerTable.ts). */
import { parseObis } from '../../protocols/dlms/cosem/obis.js';

export const LN = {
  clock: parseObis('0.0.1.0.0.255'),
  logicalDeviceName: parseObis('0.0.42.0.0.255'),
  serialNumber: parseObis('0.0.96.1.0.255'),
  /** Device ID 2 and 3 (IEC 62056-6-1 C = 96, D = 1): the meter's model and hardware version, as the nameplate says. */
  model: parseObis('0.0.96.1.1.255'),
  hardwareVersion: parseObis('0.0.96.1.2.255'),
  /** AMR profile status of the load profile (DSMR / IDIS use: bit 5 clock adjusted). */
  amrProfileStatus: parseObis('0.0.96.10.1.255'),
  /** IC 5: the running 15-minute average of active import power ("current average", D = 4). */
  demandRegister: parseObis('1.0.1.4.0.255'),
  /** IC 4: maximum demand of the billing period ("maximum", D = 6) with the time it occurred. */
  maximumDemand: parseObis('1.0.1.6.0.255'),
  loadProfile: parseObis('1.0.99.1.0.255'),
  dailyProfile: parseObis('1.0.99.2.0.255'),
  monthlyBilling: parseObis('0.0.98.1.0.255'),
  associationLn: parseObis('0.0.40.0.0.255'),
  pushSetup: parseObis('0.0.25.9.0.255'),
  disconnectControl: parseObis('0.0.96.3.10.255'),
  /** The disconnect control script table: script 1 disconnects, 2 reconnects (the Limiter's actions point here). */
  disconnectScriptTable: parseObis('0.0.10.0.106.255'),
  limiter: parseObis('0.0.17.0.0.255'),
  activePowerImport: parseObis('1.0.1.7.0.255'),
  /** The register the payment charge collects on. */
  activeEnergyImport: parseObis('1.0.1.8.0.255'),
} as const;
