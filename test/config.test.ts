// Configuration is validated as a whole, reports every problem at once, never echoes the key, and is frozen.
import { describe, expect, it } from 'vitest';
import { DEFAULT_BASE_URL, loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';

describe('loadConfig', () => {
  it('defaults to the simulator on port 8080 with asi1-mini', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      model: 'asi1-mini',
      upstream: 'simulator',
      baseUrl: DEFAULT_BASE_URL,
    });
    expect(config.apiKey).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reports asi1 with a key and the default URL, custom with another URL', () => {
    expect(loadConfig({ ASI_ONE_API_KEY: 'sk_test' }).upstream).toBe('asi1');
    const custom = loadConfig({ ASI_ONE_API_KEY: 'sk_test', ASI_BASE_URL: 'http://localhost:11434/v1/' });
    expect(custom.upstream).toBe('custom');
    expect(custom.baseUrl).toBe('http://localhost:11434/v1');
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ ASI_ONE_API_KEY: '', PORT: ' ' })).toMatchObject({ upstream: 'simulator', port: 8080 });
  });

  it('lists every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        ASI_MODEL: 'gpt-4',
        ASI_BASE_URL: 'ftp://x',
        MAX_TURN_CHARS: '0',
        LOG_LEVEL: 'loud',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('PORT');
    expect(problems).toContain('ASI_MODEL: must be one of asi1-mini, asi1, asi1-ultra (got "gpt-4")');
    expect(problems).toContain('ASI_BASE_URL');
    expect(problems).toContain('MAX_TURN_CHARS');
    expect(problems).toContain('LOG_LEVEL');
  });

  it('never echoes the API key in a config error', () => {
    expect(() => loadConfig({ ASI_ONE_API_KEY: 'sk_secret_value', PORT: '-5' })).toThrow(ConfigError);
    try {
      loadConfig({ ASI_ONE_API_KEY: 'sk_secret_value', PORT: '-5' });
    } catch (err) {
      expect(String(err)).not.toContain('sk_secret_value');
    }
  });
});
