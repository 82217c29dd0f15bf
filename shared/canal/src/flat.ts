// A Canal Entry (TCP protocol) → the flat message Canal's MQ connector would have published for it,
// so both transports reach Sluice's one decoder (core/canal.ts) with the same bytes and the same type
// rules. Written to match Canal 1.1.7's converter (MQMessageUtils.messageConverter) field by field:
// - one message per ROWDATA entry; transaction begin/end and other entry kinds make none;
// - DDL: isDdl true, the statement in `sql`, no row fields (null);
// - rows of INSERT/UPDATE/DELETE only: `data` holds the after image (the before image for DELETE),
//   column values as strings, NULL as null; `pkNames` from the key columns of the first row;
//   `sqlType`/`mysqlType` per column name;
// - UPDATE: `old` holds, per row, the before values of the columns marked updated, where the set of
//   updated names grows over the rows of the entry (Canal keeps one set per entry), and a row
//   whose set is still empty adds no `old` row;
// - empty maps and lists are null; `id` is the batch id, `es` the binlog time, `ts` now.
// Keys are in the order Canal's JSON writer puts them (alphabetical).
import { decodeEntry, EntryType, eventTypeName } from './protocol.ts';

type Values = Record<string, string | null>;

export interface FlatMessage {
  data: Values[] | null;
  database: string;
  es: number;
  gtid: string;
  id: number;
  isDdl: boolean;
  mysqlType: Record<string, string> | null;
  old: Values[] | null;
  pkNames: string[] | null;
  sql: string;
  sqlType: Record<string, number> | null;
  table: string;
  ts: number;
  type: string;
}

interface Column {
  name: string;
  sqlType: number;
  mysqlType: string;
  isKey: boolean;
  updated: boolean;
  isNull: boolean;
  value: string;
}

interface RowData {
  beforeColumns: Column[];
  afterColumns: Column[];
}

interface Header {
  logfileName: string;
  logfileOffset: number;
  executeTime: number;
  schemaName: string;
  tableName: string;
  gtid: string;
  eventType?: number;
}

/** Where an entry sits in the binlog, and what it is. */
export interface EntryInfo {
  entryType: number;
  logfileName: string;
  logfileOffset: number;
  database: string;
  table: string;
}

export interface ConvertedEntry extends EntryInfo {
  /** The flat message, or undefined for entries that make none (transaction begin/end, …). */
  message: FlatMessage | undefined;
}

/** Decodes one Entry of a batch and converts it. */
export function convertEntry(bytes: Uint8Array, batchId: number, now: number): ConvertedEntry {
  const entry = decodeEntry(bytes) as {
    header?: Header;
    entryType: number;
    rowChange?: Record<string, unknown>;
  };
  const header =
    entry.header ??
    ({
      logfileName: '',
      logfileOffset: 0,
      executeTime: 0,
      schemaName: '',
      tableName: '',
      gtid: '',
    } as Header);
  const info: EntryInfo = {
    entryType: entry.entryType,
    logfileName: header.logfileName,
    logfileOffset: Number(header.logfileOffset),
    database: header.schemaName,
    table: header.tableName,
  };
  if (entry.entryType !== EntryType.ROWDATA || !entry.rowChange) return { ...info, message: undefined };
  return { ...info, message: flatMessageOf(header, entry.rowChange, batchId, now) };
}

function flatMessageOf(
  header: Header,
  rowChange: Record<string, unknown>,
  batchId: number,
  now: number,
): FlatMessage {
  const eventNumber = Number(rowChange.eventType ?? header.eventType ?? 0);
  const type = eventTypeName(eventNumber) ?? `EVENT_TYPE_${eventNumber}`;
  const isDdl = rowChange.isDdl === true;
  const message: FlatMessage = {
    data: null,
    database: header.schemaName,
    es: Number(header.executeTime),
    gtid: header.gtid,
    id: batchId,
    isDdl,
    mysqlType: null,
    old: null,
    pkNames: null,
    sql: String(rowChange.sql ?? ''),
    sqlType: null,
    table: header.tableName,
    ts: now,
    type,
  };
  if (isDdl) return message;
  const rowTypes = type === 'INSERT' || type === 'UPDATE' || type === 'DELETE';
  const sqlType: Record<string, number> = {};
  const mysqlType: Record<string, string> = {};
  const data: Values[] = [];
  const old: Values[] = [];
  const updated = new Set<string>();
  const pkNames: string[] = [];
  let typed = false;
  for (const rowData of (rowChange.rowDatas as RowData[] | undefined) ?? []) {
    if (!rowTypes) continue;
    const columns = type === 'DELETE' ? rowData.beforeColumns : rowData.afterColumns;
    const row: Values = {};
    for (const column of columns) {
      if (!typed && column.isKey) pkNames.push(column.name);
      sqlType[column.name] = column.sqlType;
      mysqlType[column.name] = column.mysqlType;
      row[column.name] = column.isNull ? null : column.value;
      if (column.updated) updated.add(column.name);
    }
    typed = true;
    if (columns.length > 0) data.push(row);
    if (type === 'UPDATE') {
      const before: Values = {};
      let changed = 0;
      for (const column of rowData.beforeColumns) {
        if (!updated.has(column.name)) continue;
        before[column.name] = column.isNull ? null : column.value;
        changed++;
      }
      if (changed > 0) old.push(before);
    }
  }
  if (Object.keys(sqlType).length > 0) message.sqlType = sqlType;
  if (Object.keys(mysqlType).length > 0) message.mysqlType = mysqlType;
  if (data.length > 0) message.data = data;
  if (old.length > 0) message.old = old;
  if (pkNames.length > 0) message.pkNames = pkNames;
  return message;
}
