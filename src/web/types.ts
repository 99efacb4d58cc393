/**
 * The shapes of the API replies the dashboard reads, derived from the TypeBox schemas the
 * routes answer with (src/api/*Schemas.ts), so what the server sends is declared once. The
 * imports are type-only and erased from the bundle; the schema modules import no Node code,
 * which `tsc -p src/web/tsconfig.json` checks (it sees no Node types).
 * tests/architecture/imports.test.ts keeps this file free of shapes of its own.
 */
import type { Static } from 'typebox';
import type { AlarmEventOut, AlarmOut } from '../api/alarmSchemas.js';
import type { AreaComparisonOut, AreaLoadOut, AreaProfileOut, CollectionRankingOut, LineLossOut, PeriodComparisonOut, PointOut, SummaryOut } from '../api/analysisSchemas.js';
import type { LoginOut, MeOut } from '../api/authSchemas.js';
import type { DeviceEventOut } from '../api/eventSchemas.js';
import type { DeviceDetailOut } from '../api/deviceSchemas.js';
import type { MeterStateOut, MeterValuesEventOut, OverviewOut } from '../api/liveSchemas.js';
import type { PreviewOut, ProgramDetailOut, ProgramListOut, ProgramOut } from '../api/loadControlSchemas.js';
import type { MeterReadOut } from '../api/meterReadSchemas.js';
import type { LatestValuesOut, SeriesOut } from '../api/readingSchemas.js';
import type { AreaOut, MeterOut } from '../api/schemas.js';
import type { CollectionStatsOut } from '../api/statsSchemas.js';
import type { BookedOut, DecisionOut, FeeAccountDetailOut, FeeAccountOut, LedgerEntryOut, MeterCreditOut } from '../api/feeAccountSchemas.js';
import type { CampaignBody, CampaignDevicePageOut, CampaignListOut, CampaignOut, FirmwareImageListOut, FirmwareImageOut } from '../api/firmwareSchemas.js';
import type { ArrearsOut, DisconnectedOut, DisconnectionOut, ReconnectionTimesOut, RecoveryOut, WatchedAccountOut, WatchedOut } from '../api/feeReportSchemas.js';

export type { Role } from '../auth/roles.js';
export type { Page } from '../api/schemas.js';
export type { CampaignState, DeviceState } from '../firmware/model.js';
export type { CommandTargetView as CommandTarget, CommandView as Command } from '../api/commandSchemas.js';

/** GET /auth/me */
export type Me = Static<typeof MeOut>;
/** POST /auth/login */
export type LoginReply = Static<typeof LoginOut>;

/** GET /live/overview, and the live stream's `event: overview` */
export type Overview = Static<typeof OverviewOut>;
export type AreaLive = Overview['areas'][number];

/** GET /areas, /meters (paged) */
export type Area = Static<typeof AreaOut>;
export type Meter = Static<typeof MeterOut>;

/** GET /meters/:id/latest */
export type LatestValues = Static<typeof LatestValuesOut>;
/** The live stream's `event: meter` */
export type MeterValuesEvent = Static<typeof MeterValuesEventOut>;
/** GET /meters/:id/readings */
export type Series = Static<typeof SeriesOut>;
/** POST /meters/:id/read */
export type MeterRead = Static<typeof MeterReadOut>;
/** GET /meters/:id/state */
export type MeterState = Static<typeof MeterStateOut>;

/** GET /alarms (paged), /alarms/:id */
export type Alarm = Static<typeof AlarmOut>;
/** The alarm stream's `event: alarm` */
export type AlarmEvent = Static<typeof AlarmEventOut>;

/** GET /events (paged) */
export type DeviceEvent = Static<typeof DeviceEventOut>;

/** GET /stats/collection */
export type CollectionStats = Static<typeof CollectionStatsOut>;

/** GET /load-control/programs, /load-control/programs/:id, POST …/preview */
export type Program = Static<typeof ProgramOut>;
export type ProgramList = Static<typeof ProgramListOut>;
export type ProgramDetail = Static<typeof ProgramDetailOut>;
export type ProgramPreview = Static<typeof PreviewOut>;

/** GET /analysis/… */
export type Point = Static<typeof PointOut>;
export type LoadSummary = Static<typeof SummaryOut>;
export type AreaLoad = Static<typeof AreaLoadOut>;
export type AreaProfile = Static<typeof AreaProfileOut>;
export type PeriodComparison = Static<typeof PeriodComparisonOut>;
export type AreaComparison = Static<typeof AreaComparisonOut>;
export type LineLoss = Static<typeof LineLossOut>;
export type CollectionRanking = Static<typeof CollectionRankingOut>;

/** GET /fees/accounts/:id, …/ledger, …/decisions (paged); POST /fees/payments */
export type FeeAccount = Static<typeof FeeAccountOut>;
/** GET /fees/accounts/:id: the account with its meters' own accounts as last read. */
export type FeeAccountDetail = Static<typeof FeeAccountDetailOut>;
export type MeterCredit = Static<typeof MeterCreditOut>;
export type LedgerEntry = Static<typeof LedgerEntryOut>;
export type FeeDecision = Static<typeof DecisionOut>;
export type Booked = Static<typeof BookedOut>;

/** GET /fees/reports/… */
export type Arrears = Static<typeof ArrearsOut>;
export type Recovery = Static<typeof RecoveryOut>;
export type Disconnected = Static<typeof DisconnectedOut>;
export type Disconnection = Static<typeof DisconnectionOut>;
export type ReconnectionTimes = Static<typeof ReconnectionTimesOut>;
export type Watched = Static<typeof WatchedOut>;
export type WatchedAccount = Static<typeof WatchedAccountOut>;
/** GET /devices/:kind/:id */
export type DeviceDetail = Static<typeof DeviceDetailOut>;

/** GET /firmware/images (list), /firmware/images/:id; POST /firmware/images */
export type FirmwareImage = Static<typeof FirmwareImageOut>;
export type FirmwareImageList = Static<typeof FirmwareImageListOut>;
/** GET /firmware/campaigns (list), /firmware/campaigns/:id; POST /firmware/campaigns and each step */
export type Campaign = Static<typeof CampaignOut>;
export type CampaignList = Static<typeof CampaignListOut>;
export type CampaignCounts = Campaign['counts'];
/** POST /firmware/campaigns */
export type CampaignSpec = Static<typeof CampaignBody>;
/** GET /firmware/campaigns/:id/devices (keyset pages) */
export type CampaignDevicePage = Static<typeof CampaignDevicePageOut>;
export type CampaignDevice = CampaignDevicePage['items'][number];
