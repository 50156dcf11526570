// The experiment's running totals shared by every instance (REDIS_URL): one Redis hash per arm, added to with
// HINCRBYFLOAT, so GET /v1/experiments on any instance reads the figures of all of them. Best effort: a lost
// increment while Redis is down costs a sample, never a turn; failures count in the Redis error metric.
import type { ArmTotals, FigureDelta, FiguresStore } from '../experiments/figures.js';
import type { RedisLink } from './redis-link.js';

export class RedisFiguresStore implements FiguresStore {
  constructor(
    private readonly link: RedisLink,
    private readonly experimentName: string,
    private readonly onError: (operation: string) => void,
  ) {}

  add(arm: string, delta: FigureDelta): void {
    if (!this.link.isUp) return this.onError('figures_add');
    const pipeline = this.link.commands.pipeline();
    const key = this.key(arm);
    for (const [field, value] of Object.entries(delta)) if (value !== 0) pipeline.hincrbyfloat(key, field, value);
    pipeline.exec().catch(() => this.onError('figures_add'));
  }

  async read(arms: readonly string[]): Promise<Map<string, ArmTotals>> {
    const pipeline = this.link.commands.pipeline();
    for (const arm of arms) pipeline.hgetall(this.key(arm));
    const results = (await pipeline.exec()) ?? [];
    return new Map(
      arms.map((arm, i) => {
        const [error, fields] = results[i] ?? [null, {}];
        if (error !== null) throw error;
        const totals: ArmTotals = {};
        for (const [field, value] of Object.entries((fields ?? {}) as Record<string, string>))
          totals[field] = Number(value);
        return [arm, totals];
      }),
    );
  }

  /** Named by the experiment, so a new experiment starts from zero. */
  private key(arm: string): string {
    return `${this.link.keyPrefix}exp:${this.experimentName}:${arm}`;
  }
}
