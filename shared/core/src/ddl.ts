// What a DDL statement means for the index (pure). Canal reports the statement's kind (`type`) and
// text (`sql`); rows never carry DDL, so each kind gets a policy (docs/types.md, "DDL"):
//   none     CREATE TABLE, CREATE/DROP INDEX, an ALTER that changes no column: nothing to apply
//   reset    TRUNCATE, DROP TABLE: the table's documents go (unless the table's policy keeps them)
//   backfill an ALTER that adds, drops, renames or retypes columns, RENAME TABLE: documents of rows
//            that do not change again keep their old shape or index: a human decides (dead letter)

export type DdlAction = 'none' | 'reset' | 'backfill';

const KEYWORD_AFTER_ADD_OR_DROP =
  /^(?:(?:unique|fulltext|spatial)\s+)?(?:index|key|constraint|primary|foreign|check|partition|period|system)\b/;

/** Statement text with quoted strings and identifiers blanked, so keywords inside them do not count. */
function blankQuoted(sql: string): string {
  return sql.replace(/'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|`(?:[^`]|``)*`/g, (m) =>
    m.startsWith('`') ? ' ident ' : " '' ",
  );
}

/** The comma-separated clauses of an ALTER TABLE, outside parentheses. */
function alterClauses(sql: string): string[] {
  const text = blankQuoted(sql)
    .toLowerCase()
    .replace(/\/\*.*?\*\//gs, ' ');
  const head =
    /^\s*alter\s+(?:online\s+|ignore\s+)*table\s+(?:if\s+exists\s+)?[^\s]+(?:\s+wait\s+\d+|\s+nowait)?/.exec(
      text,
    );
  const body = head ? text.slice(head[0].length) : text;
  const clauses: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of body) {
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      clauses.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim() !== '') clauses.push(current.trim());
  return clauses;
}

/** True when an ALTER TABLE changes the columns rows hold (so existing documents go out of shape). */
export function alterChangesColumns(sql: string): boolean {
  for (const clause of alterClauses(sql)) {
    const add = /^(add|drop)\s+(?:column\s+)?(?:if\s+(?:not\s+)?exists\s+)?(.*)$/s.exec(clause);
    if (add) {
      const rest = add[2] ?? '';
      if (/^(add|drop)\s+column\b/.test(clause)) return true;
      if (!KEYWORD_AFTER_ADD_OR_DROP.test(rest)) return true;
      continue;
    }
    if (/^(modify|change)\b/.test(clause)) return true;
    if (/^rename\s+column\b/.test(clause)) return true;
    if (/^rename\s+(?:to|as)\b/.test(clause) || /^rename\s+(?!index|key)/.test(clause)) return true;
    if (/^convert\s+to\b/.test(clause)) return true;
  }
  return false;
}

/** How a DDL kind of Canal (CREATE, ALTER, ERASE, TRUNCATE, RENAME, CINDEX, DINDEX) is applied. */
export function ddlAction(type: string, sql: string): DdlAction {
  switch (type) {
    case 'TRUNCATE':
    case 'ERASE':
      return 'reset';
    case 'ALTER':
      return alterChangesColumns(sql) ? 'backfill' : 'none';
    case 'RENAME':
      return 'backfill';
    default:
      return 'none';
  }
}
