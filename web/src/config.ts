/** Where the app finds the gateway: `/config.json` beside the app, written by whoever serves it. */
export interface AppConfig {
  gatewayUrl: string;
}

export async function loadConfig(): Promise<AppConfig> {
  const response = await fetch('/config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
  const config = (await response.json()) as Partial<AppConfig>;
  if (typeof config.gatewayUrl !== 'string') throw new Error('config.json lacks gatewayUrl');
  return { gatewayUrl: config.gatewayUrl.replace(/\/$/, '') };
}
