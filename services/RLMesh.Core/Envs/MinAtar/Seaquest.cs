namespace RLMesh.Core.Envs.MinAtar;

/// <summary>
/// MinAtar Seaquest: a submarine shoots fish and enemy subs (+1 each), collects up to six divers and must
/// surface before its oxygen runs out; surfacing with six divers scores the remaining oxygen. Channels:
/// sub_front, sub_back, friendly_bullet, trail, enemy_bullet, enemy_fish, enemy_sub, oxygen_guage,
/// diver_guage, diver.
/// </summary>
internal sealed class Seaquest : MinAtarGame
{
    private const int SubFront = 0, SubBack = 1, FriendlyBulletPlane = 2, Trail = 3, EnemyBulletPlane = 4,
        EnemyFishPlane = 5, EnemySubPlane = 6, OxygenGauge = 7, DiverGauge = 8, DiverPlane = 9;
    private const int MaxOxygen = 200;
    private const int InitialSpawnInterval = 20;
    private const int DiverSpawnInterval = 30;
    private const int InitialMoveInterval = 5;
    private const int ShotCooldown = 5;
    private const int EnemyShotInterval = 10;
    private const int DiverMoveInterval = 5;
    private const int MaxDivers = 6;

    // Objects keep MinAtar's list order; they are updated newest first, as its reversed() loops do.
    private readonly ObjectList _friendlyBullets = new();
    private readonly ObjectList _enemyBullets = new();
    private readonly ObjectList _fish = new();
    private readonly ObjectList _subs = new();
    private readonly ObjectList _divers = new();

    private int _oxygen, _diverCount, _subX, _subY;
    private bool _facingRight, _surfaced, _terminal;
    private int _enemySpawnInterval, _enemySpawnTimer, _diverSpawnTimer, _moveInterval, _rampIndex, _shotTimer;

    public Seaquest(NumPyRandomState random, bool ramping) : base(random, ramping) { }

    public override string Name => "Seaquest";
    public override int Channels => 10;
    public override int[] MinimalActionSet => [0, 1, 2, 3, 4, 5];

    public override void Reset()
    {
        _oxygen = MaxOxygen;
        _diverCount = 0;
        _subX = 5;
        _subY = 0;
        _facingRight = false;
        _friendlyBullets.Clear();
        _enemyBullets.Clear();
        _fish.Clear();
        _subs.Clear();
        _divers.Clear();
        _enemySpawnInterval = InitialSpawnInterval;
        _enemySpawnTimer = _enemySpawnInterval;
        _diverSpawnTimer = DiverSpawnInterval;
        _moveInterval = InitialMoveInterval;
        _rampIndex = 0;
        _shotTimer = 0;
        _surfaced = true;
        _terminal = false;
    }

    public override (double Reward, bool Terminal) Act(int action)
    {
        if (_terminal) return (0, true);
        double reward = 0;

        if (_enemySpawnTimer == 0)
        {
            SpawnEnemy();
            _enemySpawnTimer = _enemySpawnInterval;
        }
        if (_diverSpawnTimer == 0)
        {
            SpawnDiver();
            _diverSpawnTimer = DiverSpawnInterval;
        }

        if (action == MinAtarAction.Fire && _shotTimer == 0)
        {
            _friendlyBullets.Add(new SeaObject(_subX, _subY, _facingRight, 0, 0));
            _shotTimer = ShotCooldown;
        }
        else if (action == MinAtarAction.Left)
        {
            _subX = Math.Max(0, _subX - 1);
            _facingRight = false;
        }
        else if (action == MinAtarAction.Right)
        {
            _subX = Math.Min(9, _subX + 1);
            _facingRight = true;
        }
        else if (action == MinAtarAction.Up) _subY = Math.Max(0, _subY - 1);
        else if (action == MinAtarAction.Down) _subY = Math.Min(8, _subY + 1);

        reward += UpdateFriendlyBullets();
        UpdateDivers();
        reward += UpdateEnemySubs();
        UpdateEnemyBullets();
        reward += UpdateFish();

        if (_enemySpawnTimer > 0) _enemySpawnTimer--;
        if (_diverSpawnTimer > 0) _diverSpawnTimer--;
        if (_shotTimer > 0) _shotTimer--;
        if (_oxygen <= 0) _terminal = true;
        if (_subY > 0)
        {
            _oxygen--;
            _surfaced = false;
        }
        else if (!_surfaced)
        {
            if (_diverCount == 0) _terminal = true;
            else reward += Surface();
        }
        return (reward, _terminal);
    }

    private double UpdateFriendlyBullets()
    {
        double reward = 0;
        for (int i = _friendlyBullets.Count - 1; i >= 0; i--)
        {
            ref var bullet = ref _friendlyBullets[i];
            bullet.X += bullet.Right ? 1 : -1;
            if (bullet.X < 0 || bullet.X > 9)
            {
                _friendlyBullets.RemoveAt(i);
                continue;
            }
            int hit = _fish.IndexAt(bullet.X, bullet.Y);
            if (hit >= 0)
            {
                _fish.RemoveAt(hit);
                _friendlyBullets.RemoveAt(i);
                reward += 1;
                continue;
            }
            hit = _subs.IndexAt(bullet.X, bullet.Y);
            if (hit >= 0)
            {
                _subs.RemoveAt(hit);
                _friendlyBullets.RemoveAt(i);
                reward += 1;
            }
        }
        return reward;
    }

    private void UpdateDivers()
    {
        for (int i = _divers.Count - 1; i >= 0; i--)
        {
            ref var diver = ref _divers[i];
            if (diver.X == _subX && diver.Y == _subY && _diverCount < MaxDivers)
            {
                _divers.RemoveAt(i);
                _diverCount++;
                continue;
            }
            if (diver.MoveTimer == 0)
            {
                diver.MoveTimer = DiverMoveInterval;
                diver.X += diver.Right ? 1 : -1;
                if (diver.X < 0 || diver.X > 9)
                {
                    _divers.RemoveAt(i);
                }
                else if (diver.X == _subX && diver.Y == _subY && _diverCount < MaxDivers)
                {
                    _divers.RemoveAt(i);
                    _diverCount++;
                }
            }
            else
            {
                diver.MoveTimer--;
            }
        }
    }

    private double UpdateEnemySubs()
    {
        double reward = 0;
        for (int i = _subs.Count - 1; i >= 0; i--)
        {
            // A copy: MinAtar keeps using a sub it removed this step (it may still fire).
            var sub = _subs[i];
            bool removed = false;
            if (sub.X == _subX && sub.Y == _subY) _terminal = true;
            if (sub.MoveTimer == 0)
            {
                sub.MoveTimer = _moveInterval;
                sub.X += sub.Right ? 1 : -1;
                if (sub.X < 0 || sub.X > 9)
                {
                    removed = true;
                }
                else if (sub.X == _subX && sub.Y == _subY)
                {
                    _terminal = true;
                }
                else
                {
                    int hit = _friendlyBullets.IndexAt(sub.X, sub.Y);
                    if (hit >= 0)
                    {
                        removed = true;
                        _friendlyBullets.RemoveAt(hit);
                        reward += 1;
                    }
                }
            }
            else
            {
                sub.MoveTimer--;
            }
            if (sub.ShotTimer == 0)
            {
                sub.ShotTimer = EnemyShotInterval;
                _enemyBullets.Add(new SeaObject(sub.X, sub.Y, sub.Right, 0, 0));
            }
            else
            {
                sub.ShotTimer--;
            }
            if (removed) _subs.RemoveAt(i);
            else _subs[i] = sub;
        }
        return reward;
    }

    private void UpdateEnemyBullets()
    {
        for (int i = _enemyBullets.Count - 1; i >= 0; i--)
        {
            ref var bullet = ref _enemyBullets[i];
            if (bullet.X == _subX && bullet.Y == _subY) _terminal = true;
            bullet.X += bullet.Right ? 1 : -1;
            if (bullet.X < 0 || bullet.X > 9) _enemyBullets.RemoveAt(i);
            else if (bullet.X == _subX && bullet.Y == _subY) _terminal = true;
        }
    }

    private double UpdateFish()
    {
        double reward = 0;
        for (int i = _fish.Count - 1; i >= 0; i--)
        {
            ref var fish = ref _fish[i];
            if (fish.X == _subX && fish.Y == _subY) _terminal = true;
            if (fish.MoveTimer == 0)
            {
                fish.MoveTimer = _moveInterval;
                fish.X += fish.Right ? 1 : -1;
                if (fish.X < 0 || fish.X > 9)
                {
                    _fish.RemoveAt(i);
                }
                else if (fish.X == _subX && fish.Y == _subY)
                {
                    _terminal = true;
                }
                else
                {
                    int hit = _friendlyBullets.IndexAt(fish.X, fish.Y);
                    if (hit >= 0)
                    {
                        _fish.RemoveAt(i);
                        _friendlyBullets.RemoveAt(hit);
                        reward += 1;
                    }
                }
            }
            else
            {
                fish.MoveTimer--;
            }
        }
        return reward;
    }

    private double Surface()
    {
        _surfaced = true;
        double reward = 0;
        if (_diverCount == MaxDivers)
        {
            _diverCount = 0;
            reward = FloorDiv(_oxygen * 10, MaxOxygen);
        }
        _oxygen = MaxOxygen;
        // MinAtar decrements after the reset above, so a full surfacing leaves the count at -1.
        _diverCount--;
        if (Ramping && (_enemySpawnInterval > 1 || _moveInterval > 2))
        {
            if (_moveInterval > 2 && _rampIndex % 2 == 1) _moveInterval--;
            if (_enemySpawnInterval > 1) _enemySpawnInterval--;
            _rampIndex++;
        }
        return reward;
    }

    private void SpawnEnemy()
    {
        bool right = Random.Rand() < 0.5;
        bool isSub = Random.Rand() < 1.0 / 3;
        int y = Random.RandInt(1, 9);
        // No spawn into a row where an enemy comes the other way (they would pass through each other).
        if (AnyOpposite(_subs, y, right) || AnyOpposite(_fish, y, right)) return;
        int x = right ? 0 : 9;
        if (isSub) _subs.Add(new SeaObject(x, y, right, _moveInterval, EnemyShotInterval));
        else _fish.Add(new SeaObject(x, y, right, _moveInterval, 0));
    }

    private static bool AnyOpposite(ObjectList enemies, int y, bool right)
    {
        for (int i = 0; i < enemies.Count; i++)
        {
            if (enemies[i].Y == y && enemies[i].Right != right) return true;
        }
        return false;
    }

    private void SpawnDiver()
    {
        bool right = Random.Rand() < 0.5;
        int y = Random.RandInt(1, 9);
        _divers.Add(new SeaObject(right ? 0 : 9, y, right, DiverMoveInterval, 0));
    }

    public override void WriteState(Span<float> observation)
    {
        Set(observation, _subY, _subX, SubFront);
        int backX = _facingRight ? _subX - 1 : _subX + 1;
        // The sub always faces the way it last moved, so its back is on the grid; NumPy would wrap -1 anyway.
        if (backX >= 0 && backX <= 9) Set(observation, _subY, backX, SubBack);
        for (int x = 0, end = Math.Max(0, _oxygen) * 10 / MaxOxygen; x < end; x++) Set(observation, 9, x, OxygenGauge);
        // NumPy's row[9 - count:9]: empty once the count goes negative.
        for (int x = Math.Max(0, 9 - _diverCount); x < 9; x++) Set(observation, 9, x, DiverGauge);
        for (int i = 0; i < _friendlyBullets.Count; i++) Set(observation, _friendlyBullets[i].Y, _friendlyBullets[i].X, FriendlyBulletPlane);
        for (int i = 0; i < _enemyBullets.Count; i++) Set(observation, _enemyBullets[i].Y, _enemyBullets[i].X, EnemyBulletPlane);
        WriteMovers(observation, _fish, EnemyFishPlane);
        WriteMovers(observation, _subs, EnemySubPlane);
        WriteMovers(observation, _divers, DiverPlane);
    }

    private void WriteMovers(Span<float> observation, ObjectList list, int plane)
    {
        for (int i = 0; i < list.Count; i++)
        {
            var o = list[i];
            Set(observation, o.Y, o.X, plane);
            int backX = o.Right ? o.X - 1 : o.X + 1;
            if (backX >= 0 && backX <= 9) Set(observation, o.Y, backX, Trail);
        }
    }

    /// <summary>A bullet, fish, enemy sub or diver: position, direction and its timers.</summary>
    private struct SeaObject(int x, int y, bool right, int moveTimer, int shotTimer)
    {
        public int X = x;
        public int Y = y;
        public bool Right = right;
        public int MoveTimer = moveTimer;
        public int ShotTimer = shotTimer;
    }

    /// <summary>An ordered list with preallocated room: stepping never allocates.</summary>
    private sealed class ObjectList
    {
        // Far above what the rules allow on a 10 x 10 grid (at most 8 enemies, a few bullets and divers each).
        private const int Capacity = 64;
        private readonly SeaObject[] _items = new SeaObject[Capacity];

        public int Count { get; private set; }

        public ref SeaObject this[int index] => ref _items[index];

        public void Clear() => Count = 0;

        public void Add(SeaObject item)
        {
            if (Count == Capacity) throw new InvalidOperationException($"Seaquest holds more than {Capacity} objects of one kind.");
            _items[Count++] = item;
        }

        public void RemoveAt(int index)
        {
            Array.Copy(_items, index + 1, _items, index, Count - index - 1);
            Count--;
        }

        /// <summary>Index of the first object at (x, y), or -1.</summary>
        public int IndexAt(int x, int y)
        {
            for (int i = 0; i < Count; i++)
            {
                if (_items[i].X == x && _items[i].Y == y) return i;
            }
            return -1;
        }
    }
}
