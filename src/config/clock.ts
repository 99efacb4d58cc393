/** Wall-clock and calendar values of the configuration, shared by every section that schedules by local time. */
import Type from 'typebox';

/** `HH:MM`; `24:00` is the end of the day. */
export const ClockTime = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$', description: 'HH:MM, station local time' });
/** `YYYY-MM-DD`. */
export const CalendarDate = Type.String({ pattern: '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$', description: 'YYYY-MM-DD, station local' });
