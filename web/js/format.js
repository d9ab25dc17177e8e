// Brazilian Portuguese labels and formats, in one place.

export const STATUSES = ["NEW", "QUALIFYING", "QUALIFIED", "CONTACTED", "PROPOSAL", "WON", "LOST"];

export const STATUS_LABEL = {
  NEW: "Novo",
  QUALIFYING: "Em qualificação",
  QUALIFIED: "Qualificado",
  CONTACTED: "Contatado",
  PROPOSAL: "Proposta",
  WON: "Ganho",
  LOST: "Perdido",
};

export const TEMPERATURE_LABEL = { HOT: "Quente", WARM: "Morno", COLD: "Frio" };
export const SOURCE_LABEL = { website: "Site", whatsapp: "WhatsApp", manual: "Manual", webhook: "Formulário" };
export const ROLE_LABEL = { admin: "Administrador", manager: "Gerente", consultant: "Consultor" };
export const SESSION_LABEL = { consultant: "Consultores", livia: "Lívia" };
export const SESSION_STATUS_LABEL = {
  connected: "Conectado",
  connecting: "Conectando…",
  pairing: "Aguardando pareamento",
  disconnected: "Desconectado",
  logged_out: "Desconectado do aparelho",
};
export const STAGE_LABEL = {
  INTRO: "Apresentação",
  QUALIFICATION: "Qualificação",
  SIMULATION: "Simulação",
  CONVERSION: "Conversão",
  TRANSFERRED: "Transferido",
};
export const MESSAGE_STATUS_LABEL = {
  pending: "Enviando",
  sent: "Enviada",
  delivered: "Entregue",
  read: "Lida",
  failed: "Falhou",
};
export const COLLECTED_LABEL = {
  full_name: "Nome completo",
  asset_type: "Tipo de bem",
  asset_value: "Valor do bem",
  down_payment: "Entrada",
  monthly_income: "Renda mensal",
  term_months: "Prazo (meses)",
  city: "Cidade",
  contact_time: "Melhor horário",
};
export const ASSET_LABEL = { property: "Imóvel", vehicle: "Veículo" };
export const KIND_LABEL = {
  created: "Lead criado",
  updated: "Lead alterado",
  assigned: "Atribuído",
  classified: "Classificado pela IA",
  qualified: "Qualificado pela Lívia",
  livia_paused: "Lívia pausada",
  livia_resumed: "Lívia retomada",
};
export const FIELD_LABEL = {
  status: "Status",
  name: "Nome",
  email: "E-mail",
  notes: "Observações",
  metadata: "Dados extras",
  consultant_id: "Consultor",
  temperature: "Temperatura",
  ai_score: "Pontuação",
  ai_reasons: "Motivos",
  phone: "Telefone",
  source: "Origem",
  by: "Por",
  rule: "Regra",
  reason: "Motivo",
};

const money = new Intl.NumberFormat("pt-BR", { style: "currency", currency: "BRL" });
const dateTime = new Intl.DateTimeFormat("pt-BR", { dateStyle: "short", timeStyle: "short" });
const time = new Intl.DateTimeFormat("pt-BR", { timeStyle: "short" });
const percent = new Intl.NumberFormat("pt-BR", { style: "percent", maximumFractionDigits: 1 });

export const formatMoney = (value) => (typeof value === "number" ? money.format(value) : value ?? "—");
export const formatPercent = (value) => (value == null ? "—" : percent.format(value));
export const formatDateTime = (iso) => (iso ? dateTime.format(new Date(iso)) : "—");

/** Today's messages show the time; older ones the date. */
export function formatWhen(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return date.toDateString() === new Date().toDateString() ? time.format(date) : dateTime.format(date);
}

/** "há 5 min", "há 3 h", "há 2 d". */
export function formatAge(iso) {
  if (!iso) return "";
  const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return "agora";
  if (seconds < 3600) return `há ${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `há ${Math.floor(seconds / 3600)} h`;
  return `há ${Math.floor(seconds / 86400)} d`;
}

/** A duration in seconds, as a person says it. */
export function formatDuration(seconds) {
  if (seconds == null) return "—";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) return `${(seconds / 3600).toFixed(1).replace(".", ",")} h`;
  return `${(seconds / 86400).toFixed(1).replace(".", ",")} d`;
}

/** +5511987654321 -> +55 11 98765-4321 (Brazilian numbers); others unchanged. */
export function formatPhone(phone) {
  const match = /^\+55(\d{2})(\d{4,5})(\d{4})$/.exec(phone || "");
  return match ? `+55 ${match[1]} ${match[2]}-${match[3]}` : phone || "";
}

export function formatCollected(key, value) {
  if (value == null || value === "") return "—";
  if (["asset_value", "down_payment", "monthly_income"].includes(key)) return formatMoney(Number(value));
  if (key === "asset_type") return ASSET_LABEL[value] || value;
  return String(value);
}

/** The chat of a phone: its digits at s.whatsapp.net. */
export const chatJid = (phone) => `${(phone || "").replace(/^\+/, "")}@s.whatsapp.net`;
